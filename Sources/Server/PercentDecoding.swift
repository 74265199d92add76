import HTTPTypes
import Support

/// A word of a request's path, its percent-encoding undone into bytes rather than text: `caf%C3%A9` is `café`'s
/// UTF-8, and `caf%E9` the bytes `caf` and E9, which no string can hold, so that the words a cache keeps as they were
/// written (`build --invalid-utf8 keep`, the default) can be asked for.
enum PercentDecoding {
    /// The bytes `encoded` stands for, or `nil` when a `%` is not followed by two hex digits.
    static func bytes(_ encoded: some Collection<UInt8>) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(encoded.count)
        var iterator = encoded.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                result.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value) else {
                return nil
            }
            result.append(high << 4 | low)
        }
        return result
    }

    /// A path parameter that names something (a dataset, a split, a batch index) as text, its percent-encoding undone
    /// as RFC 3986 has it (`p%6Fs` is `pos`); bytes that are not UTF-8 read as U+FFFD, which no name holds.
    ///
    /// - throws: a 400 naming `what` when a `%` is not followed by two hex digits.
    static func name(_ encoded: String, what: String) throws -> String {
        guard let decoded = bytes(encoded.utf8) else { throw APIError.notPercentEncoded(encoded.utf8, what: what) }
        return String(decoding: decoded, as: UTF8.self)
    }
}

extension APIError {
    /// The 400 for a piece of a path (`what`: the word, the dataset name, …) whose percent-encoding cannot be undone
    /// (`50%`, `%zz`).
    static func notPercentEncoded(_ piece: some Collection<UInt8>, what: String = "word") -> APIError {
        APIError(
            .badRequest,
            "the \(what) \"\(Printable.escape(bytes: piece, limit: 200))\" is not percent-encoded: each % is followed by "
                + "two hex digits (write % itself as %25)")
    }
}
