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
}

extension APIError {
    /// The 400 for a path word whose percent-encoding cannot be undone (`50%`, `%zz`).
    static func notPercentEncoded(_ word: some Collection<UInt8>) -> APIError {
        APIError(
            .badRequest,
            "the word \"\(Printable.escape(bytes: word, limit: 200))\" is not percent-encoded: each % is followed by "
                + "two hex digits (write % itself as %25)")
    }
}
