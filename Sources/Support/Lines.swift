/// The lines of a text held in memory: split on `\n`, a trailing `\r` removed, numbered from 1.
///
/// A final `\n` ends the last line rather than starting an empty one, as editors and Python's `readlines` see it.
/// Every reader of line-oriented input (datasets, word lists, tokenizer input) goes through this one splitter.
public struct Lines<Bytes: BidirectionalCollection<UInt8>>: Sequence {
    public struct Line {
        /// 1-based.
        public var number: Int
        public var bytes: Bytes.SubSequence
    }

    private let bytes: Bytes

    public init(_ bytes: Bytes) {
        self.bytes = bytes
    }

    public struct Iterator: IteratorProtocol {
        private let bytes: Bytes
        private var position: Bytes.Index
        private var number = 0

        init(_ bytes: Bytes) {
            self.bytes = bytes
            position = bytes.startIndex
        }

        public mutating func next() -> Line? {
            guard position < bytes.endIndex else { return nil }
            let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.endIndex
            var line = bytes[position..<end]
            if line.last == 0x0D { line = line.dropLast() }
            position = end < bytes.endIndex ? bytes.index(after: end) : end
            number += 1
            return Line(number: number, bytes: line)
        }
    }

    public func makeIterator() -> Iterator { Iterator(bytes) }
}
