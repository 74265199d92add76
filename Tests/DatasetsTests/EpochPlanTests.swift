import CacheBuild
import Foundation
import TestSupport
import Testing
import VectorCache

@testable import Datasets

@Suite struct EpochPlanTests {
    /// A plan of `count` batches whose batch i holds example i (enough to follow positions).
    func plan(_ count: Int) -> EpochPlan {
        EpochPlan(order: Array(0..<count), batchSize: 1)
    }

    @Test(arguments: [(10, 1), (10, 3), (10, 4), (7, 7), (3, 4), (1000, 8)])
    func ranksGetDisjointEqualSharesAndFewerThanWorldSizeAreLeftOut(batches: Int, worldSize: Int) {
        let plan = plan(batches)
        let shares = (0..<worldSize).map { Array(plan.positions(EpochShare(rank: $0, worldSize: worldSize))) }
        #expect(Set(shares.map(\.count)).count == 1, "every rank reads as many batches")
        #expect(shares[0].count == batches / worldSize)
        let all = shares.flatMap { $0 }
        #expect(Set(all).count == all.count, "no batch twice")
        #expect(plan.leftOut(worldSize: worldSize) == batches - all.count && batches - all.count < worldSize)
        // Rank r takes r, r + W, r + 2W, …: the left-out batches are the last ones of the order.
        #expect(Set(all) == Set(0..<(batches - batches % worldSize)))
        #expect(
            shares.enumerated().allSatisfy { rank, share in
                share.enumerated().allSatisfy { $0.element == rank + $0.offset * worldSize }
            })
    }

    @Test func aResumedShareReadsExactlyTheRest() {
        let plan = plan(23)
        let whole = Array(plan.positions(EpochShare(rank: 1, worldSize: 3)))
        for start in 0...whole.count + 1 {
            #expect(
                Array(plan.positions(EpochShare(rank: 1, worldSize: 3, start: start))) == Array(whole.dropFirst(start)))
        }
    }

    @Test func workerPartsInterleaveToTheShareInOrder() {
        let plan = plan(50)
        for start in [0, 3] {
            let share = Array(plan.positions(EpochShare(rank: 2, worldSize: 4, start: start)))
            let parts = (0..<3).map {
                Array(plan.positions(EpochShare(rank: 2, worldSize: 4, start: start, part: $0, parts: 3)))
            }
            // A DataLoader takes one batch from each worker in turn.
            var merged: [Int] = []
            for round in 0..<share.count {
                if round / 3 < parts[round % 3].count { merged.append(parts[round % 3][round / 3]) }
            }
            #expect(merged == share)
        }
    }
}
