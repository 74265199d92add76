/// Keeps, from a stream of approximate scores with error bounds, every row that can still be among the `capacity`
/// best: a row whose score may reach the `capacity`-th best certain score (`approx - bound`) so far.
///
/// The certain scores of the best rows seen are a min-heap; a row is kept while `approx + bound` reaches the heap's
/// least. That threshold only rises, so what was dropped stays out; ``merged(_:)`` applies the final threshold.
struct CandidateSelector {
    struct Candidate {
        var row: Int32
        var approx: Float
        var bound: Float
    }

    let capacity: Int
    private var heap: [Float] = []
    private(set) var candidates: [Candidate] = []

    init(capacity: Int) {
        self.capacity = capacity
        heap.reserveCapacity(capacity)
    }

    /// The least certain score a row must be able to reach to be kept.
    var threshold: Float { heap.count < capacity ? -.infinity : heap[0] }

    @inline(__always)
    mutating func offer(row: Int, approx: Float, bound: Float) {
        guard approx + bound >= threshold else { return }
        insertCertain(approx - bound)
        candidates.append(Candidate(row: Int32(row), approx: approx, bound: bound))
        if candidates.count >= 4 * capacity + 1024 {
            let threshold = threshold
            candidates.removeAll { $0.approx + $0.bound < threshold }
        }
    }

    private mutating func insertCertain(_ value: Float) {
        if heap.count < capacity {
            heap.append(value)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[parent] > heap[child] else { break }
                heap.swapAt(parent, child)
                child = parent
            }
        } else if value > heap[0] {
            heap[0] = value
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { break }
                var least = left
                if left + 1 < heap.count && heap[left + 1] < heap[left] { least = left + 1 }
                guard heap[least] < heap[parent] else { break }
                heap.swapAt(parent, least)
                parent = least
            }
        }
    }

    /// The candidates of selectors that saw disjoint rows, filtered by the threshold of all of them together.
    static func merged(_ selectors: [CandidateSelector]) -> [Candidate] {
        guard let capacity = selectors.first?.capacity else { return [] }
        let certain = selectors.flatMap(\.heap).sorted(by: >)
        let threshold = certain.count < capacity ? -Float.infinity : certain[capacity - 1]
        return selectors.flatMap(\.candidates).filter { $0.approx + $0.bound >= threshold }
    }
}
