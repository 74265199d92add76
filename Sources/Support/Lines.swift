/// The lines of a text held in memory: split on `\n`, a trailing `\r` removed, numbered from 1.
///
/// A final `\n` ends the last line rather than starting an empty one, as editors and Python's `readlines` see it.
/// Every reader of line-oriented input (datasets, word lists, tokenizer input) goes through this one splitter.
public struct Lines<Bytes: BidirectionalCollection<UInt8>>: Sequence {
    public struct Line {
        /// 1-based.
        public var number: Int
        public var bytes: Bytes.SubSequence

        @inlinable init(number: Int, bytes: Bytes.SubSequence) {
            self.number = number
            self.bytes = bytes
        }
    }

    @usableFromInline let bytes: Bytes

    @inlinable public init(_ bytes: Bytes) {
        self.bytes = bytes
    }

    // Inlinable, so that a reader in another module gets it specialized for its collection (a byte loop where a
    // generic one went through the protocol's witnesses: two thirds of a million-line TSV read).
    public struct Iterator: IteratorProtocol {
        @usableFromInline let bytes: Bytes
        @usableFromInline var position: Bytes.Index
        @usableFromInline var number = 0

        @inlinable init(_ bytes: Bytes) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        @inlinable public mutating func next() -> Line? {
            guard position < bytes.endIndex else { return nil }
            let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.endIndex
            var line = bytes[position..<end]
            if line.last == 0x0D { line = line.dropLast() }
            position = end < bytes.endIndex ? bytes.index(after: end) : end
            number += 1
            return Line(number: number, bytes: line)
        }
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(bytes) }
}
