import CacheBuild
import Datasets
import Testing

@Suite struct BatchSamplerTests {
    @Test(arguments: [(10, 3), (7, 7), (1000, 32), (1, 4), (0, 5)])
    func everyExampleExactlyOncePerEpoch(count: Int, batchSize: Int) {
        let sampler = BatchSampler(count: count, batchSize: batchSize, seed: 42, epoch: 3)
        #expect(sampler.batchCount == (count + batchSize - 1) / batchSize)
        let seen = (0..<sampler.batchCount).flatMap { Array(sampler.batch($0)) }
        #expect(seen.sorted() == Array(0..<count))
        if sampler.batchCount > 0 {
            #expect(sampler.batch(sampler.batchCount - 1).count == count - (sampler.batchCount - 1) * batchSize)
        }
    }

    @Test func theSameSeedAndEpochGiveTheSameOrderAndOthersDoNot() {
        let a = BatchSampler(count: 500, batchSize: 10, seed: 7, epoch: 0)
        let b = BatchSampler(count: 500, batchSize: 10, seed: 7, epoch: 0)
        let nextEpoch = BatchSampler(count: 500, batchSize: 10, seed: 7, epoch: 1)
        let otherSeed = BatchSampler(count: 500, batchSize: 10, seed: 8, epoch: 0)
        #expect(Array(a.batch(0)) == Array(b.batch(0)) && Array(a.batch(49)) == Array(b.batch(49)))
        #expect(Array(a.batch(0)) != Array(nextEpoch.batch(0)))
        #expect(Array(a.batch(0)) != Array(otherSeed.batch(0)))
        #expect(Array(a.batch(0)) != Array(0..<10))
        let unshuffled = BatchSampler(count: 20, batchSize: 8, seed: 7, epoch: 0, shuffle: false)
        #expect(Array(unshuffled.batch(2)) == Array(16..<20))
    }

    @Test func theOrderIsTheSameOnEveryMachine() {
        // SplitMix64 and the multiply-high pick use no platform-dependent randomness. The expected order was computed
        // independently, by the same algorithm written in Python, so a client can reproduce it.
        let sampler = BatchSampler(count: 10, batchSize: 10, seed: 1, epoch: 0)
        #expect(Array(sampler.batch(0)) == [9, 0, 1, 4, 8, 2, 3, 7, 6, 5])
    }
}
