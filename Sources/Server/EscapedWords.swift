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

    /// `word` as a JSON string, its text as ``ServerRequestContext/jsonEncoder()`` writes text (`"`, `\\` and `/`
    /// escaped, C0 controls as `\b`, `\f`, `\n`, `\r`, `\t` or `\u00nn`, the rest as it is), each byte that is not
    /// UTF-8 as its `\udcNN`. Appended to `json`.
    static func append(_ word: some Collection<UInt8>, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        if String(validating: word, as: UTF8.self) != nil {
            appendText(word, to: &json)
        } else {
            for piece in UTF8Pieces.of(word) {
                switch piece {
                case .text(let text): appendText(text.utf8, to: &json)
                case .byte(let byte): json += Array("\\udc\(Hex.text(byte, uppercase: false))".utf8)
                }
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    /// The bytes of UTF-8 text, escaped as the encoder escapes them.
    private static func appendText(_ text: some Collection<UInt8>, to json: inout [UInt8]) {
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): json += [UInt8(ascii: "\\"), byte]
            case 0x08: json += Array(#"\b"#.utf8)
            case 0x0C: json += Array(#"\f"#.utf8)
            case 0x0A: json += Array(#"\n"#.utf8)
            case 0x0D: json += Array(#"\r"#.utf8)
            case 0x09: json += Array(#"\t"#.utf8)
            case 0..<0x20: json += Array("\\u00\(Hex.text(byte, uppercase: false))".utf8)
            default: json.append(byte)
            }
        }
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
