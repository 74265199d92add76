import Foundation
import Support

/// Words that are not UTF-8, in JSON both ways. A cache built with `--invalid-utf8 keep` holds words in bytes that
/// JSON text cannot carry. Bodies and answers carry each such byte 0xNN as Python's surrogateescape writes it, the
/// lone surrogate `\udcNN` (`json.dumps(word.decode("utf-8", "surrogateescape"))`, and back with `json.loads` and
/// `.encode("utf-8", "surrogateescape")`).
///
/// Foundation's decoder refuses every lone surrogate, so a body that holds them is decoded once more with each string
/// value that holds one taken out: `"\u0000N"` stands in its place, and ``Word`` reads the string's bytes from
/// ``words``[N]. A string value that starts with U+0000 is taken out too, so that every one the decoder then reads is
/// one taken out. Keys are left as they are, and one that holds such a byte is refused (no route reads such a key).
/// Public only so that the fuzz target can reach it.
public struct EscapedWords: Sendable {
    /// The bytes of each string taken out, in the order of the body.
    public let words: [[UInt8]]

    /// Where the decoder's `userInfo` holds the strings taken out.
    static let userInfoKey = CodingUserInfoKey(rawValue: "w2vcache.escapedWords")!

    /// `json` with its string values that hold a lone `\udc80`-`\udcff` or start with U+0000 taken out, and those
    /// strings; `nil` when it has none, or when one of them is not a string JSON allows. What is left is for the
    /// decoder to read or refuse: the text is JSON where ``JSONSyntax/firstFault(in:surrogateEscapes:)`` finds no
    /// fault.
    public static func takeOut(of json: [UInt8]) -> (json: [UInt8], escaped: EscapedWords)? {
        var tokens = JSONTokens(bytes: json)
        var result: [UInt8] = []
        var words: [[UInt8]] = []
        var copied = 0  // `json` up to here is in `result`
        while tokens.offset < json.count {
            guard json[tokens.offset] == UInt8(ascii: "\"") else {
                tokens.offset += 1
                continue
            }
            let start = tokens.offset
            let escapedBefore = tokens.escapedBytes
            var word: [UInt8] = []
            guard tokens.string(into: &word, rawUTF8: true) else { return nil }
            let end = tokens.offset
            guard !tokens.take(UInt8(ascii: ":")), tokens.escapedBytes > escapedBefore || word.first == 0 else {
                continue
            }
            // Its bytes over 0x7F must be UTF-8, as the decoder would have them be; its escapes are ASCII.
            guard String(validating: json[start..<end], as: UTF8.self) != nil else { return nil }
            if result.isEmpty { result.reserveCapacity(json.count + 16) }
            result += json[copied..<start]
            result += Array("\"\\u0000\(words.count)\"".utf8)
            copied = end
            words.append(word)
        }
        guard !words.isEmpty else { return nil }
        result += json[copied...]
        return (result, EscapedWords(words: words))
    }

    /// `word` as a JSON string, its text as `encoder` writes text, each byte that is not UTF-8 as its `\udcNN`.
    static func json(_ word: some Collection<UInt8>, encoder: JSONEncoder) throws -> [UInt8] {
        var json = Array("\"".utf8)
        for piece in UTF8Pieces.of(word) {
            switch piece {
            case .text(let text): json += try encoder.encode(text).dropFirst().dropLast()
            case .byte(let byte): json += Array("\\udc\(Hex.text(byte, uppercase: false))".utf8)
            }
        }
        return json + Array("\"".utf8)
    }
}

/// A string of a request's body as bytes: a word, which may be one that is not UTF-8 (``EscapedWords``).
struct Word: Decodable, Sendable {
    let bytes: [UInt8]

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text.utf8.first == 0, let taken = decoder.userInfo[EscapedWords.userInfoKey] as? EscapedWords,
            let index = Int(String(decoding: text.utf8.dropFirst(), as: UTF8.self)), taken.words.indices.contains(index)
        {
            bytes = taken.words[index]
        } else {
            bytes = Array(text.utf8)
        }
    }
}
