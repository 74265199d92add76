/// Bytes that should be UTF-8 text, such as a word a cache keeps as its file wrote it (`build --invalid-utf8 keep`),
/// split where they are not: each run of valid UTF-8 is text, each byte outside one stands alone. Python's
/// surrogateescape splits them the same way, and writes each lone byte 0xNN as the lone surrogate U+DCNN.
public enum UTF8Pieces {
    public enum Piece: Equatable, Sendable {
        /// A run of valid UTF-8.
        case text(String)
        /// A byte that is no part of valid UTF-8.
        case byte(UInt8)
    }

    /// The pieces of `bytes` in order: one `.text` when they are all valid UTF-8, none when they are empty.
    public static func of(_ bytes: some Collection<UInt8>) -> [Piece] {
        if let text = String(validating: bytes, as: UTF8.self) { return text.isEmpty ? [] : [.text(text)] }
        let array = Array(bytes)
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = array.makeIterator()
        var pieces: [Piece] = []
        var run = String.UnicodeScalarView()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                run.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .error(let length):
                if !run.isEmpty { pieces.append(.text(String(run))) }
                run = String.UnicodeScalarView()
                pieces += array[offset..<(offset + length)].map { .byte($0) }
                offset += length
            case .emptyInput:
                if !run.isEmpty { pieces.append(.text(String(run))) }
                return pieces
            }
        }
    }
}
