import CacheBuild
import Datasets
import Testing

@Suite struct BatchSamplerTests {
    @Test(arguments: [(10, 3), (7, 7), (1000, 32), (1, 4), (0, 5)])
    func everyExampleExactlyOncePerEpoch(count: Int, batchSize: Int) {
        let sampler = EpochPlan(order: BatchSampler.order(count: count, seed: 42, epoch: 3), batchSize: batchSize)
        #expect(
            sampler.batchCount == (count + batchSize - 1) / batchSize
                && BatchSampler.batchCount(count: count, batchSize: batchSize) == sampler.batchCount)
        let seen = (0..<sampler.batchCount).flatMap { Array(sampler.batch($0)) }
        #expect(seen.sorted() == Array(0..<count))
        if sampler.batchCount > 0 {
            #expect(sampler.batch(sampler.batchCount - 1).count == count - (sampler.batchCount - 1) * batchSize)
        }
    }

    @Test func theSameSeedAndEpochGiveTheSameOrderAndOthersDoNot() {
        let a = EpochPlan(order: BatchSampler.order(count: 500, seed: 7, epoch: 0), batchSize: 10)
        let b = EpochPlan(order: BatchSampler.order(count: 500, seed: 7, epoch: 0), batchSize: 10)
        let nextEpoch = EpochPlan(order: BatchSampler.order(count: 500, seed: 7, epoch: 1), batchSize: 10)
        let otherSeed = EpochPlan(order: BatchSampler.order(count: 500, seed: 8, epoch: 0), batchSize: 10)
        #expect(Array(a.batch(0)) == Array(b.batch(0)) && Array(a.batch(49)) == Array(b.batch(49)))
        #expect(Array(a.batch(0)) != Array(nextEpoch.batch(0)))
        #expect(Array(a.batch(0)) != Array(otherSeed.batch(0)))
        #expect(Array(a.batch(0)) != Array(0..<10))
        let unshuffled = EpochPlan(
            order: BatchSampler.order(count: 20, seed: 7, epoch: 0, shuffle: false), batchSize: 8)
        #expect(Array(unshuffled.batch(2)) == Array(16..<20))
    }

    @Test func theOrderIsTheSameOnEveryMachine() {
        // SplitMix64 and the multiply-high pick use no platform-dependent randomness. The expected order was computed
        // independently, by the same algorithm written in Python, so a client can reproduce it.
        let sampler = EpochPlan(order: BatchSampler.order(count: 10, seed: 1, epoch: 0), batchSize: 10)
        #expect(Array(sampler.batch(0)) == [9, 0, 1, 4, 8, 2, 3, 7, 6, 5])
    }
}
