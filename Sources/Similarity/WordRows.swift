import SearchIndex
import Support
import VectorCache

/// Finds a word's row in a ``SearchIndex``: the first row with that word (gensim's `key_to_index`, where the first
/// occurrence of a word in the file wins). An open-addressing table of row numbers over the index's own word bytes,
/// so that 3 million words cost 4 bytes each.
struct WordRows: Sendable {
    private let slots: [Int32]
    private let mask: Int

    init(_ index: SearchIndex) {
        var capacity = 16
        while capacity < index.rowCount * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        var duplicates = index.duplicateRows[...]
        for row in 0..<index.rowCount {
            if duplicates.first == row {
                duplicates.removeFirst()
                continue
            }
            let word = index.word(row)
            var slot = Int(truncatingIfNeeded: StableHash.fnv1a64(word)) & mask
            while slots[slot] >= 0 {
                slot = (slot + 1) & mask
            }
            slots[slot] = Int32(row)
        }
        self.slots = slots
        self.mask = mask
    }

    /// The row of `word`, or `nil`.
    func row(of word: some Collection<UInt8>, in index: SearchIndex) -> Int? {
        var slot = Int(truncatingIfNeeded: StableHash.fnv1a64(word)) & mask
        while slots[slot] >= 0 {
            let row = Int(slots[slot])
            if index.word(row).elementsEqual(word) { return row }
            slot = (slot + 1) & mask
        }
        return nil
    }
}
