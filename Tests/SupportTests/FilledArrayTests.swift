import Support
import Testing

struct FilledArrayTests {
    private struct Refused: Error {}

    /// Every element is what `fill` wrote, and the array has exactly `count` of them.
    @Test func theArrayHoldsWhatFillWrote() {
        let squares = [Int32].filled(count: 5) { buffer in
            for index in buffer.indices { buffer[index] = Int32(index * index) }
        }
        #expect(squares == [0, 1, 4, 9, 16])
    }

    /// A count of 0 still calls `fill` (its checks still run), with an empty buffer, and gives `[]`.
    @Test func aCountOfZeroCallsFillAndIsEmpty() {
        var calls = 0
        let empty = [UInt8].filled(count: 0) { buffer in
            calls += 1
            #expect(buffer.isEmpty)
        }
        #expect(empty.isEmpty && calls == 1)
        #expect(throws: Refused.self) { try [Float].filled(count: 0) { _ in throw Refused() } }
    }

    /// What `fill` throws comes out, whatever the count.
    @Test func whatFillThrowsComesOut() {
        #expect(throws: Refused.self) { try [Float].filled(count: 3) { _ in throw Refused() } }
    }
}
