import Foundation

/// A key given twice in one object of a JSON text. Foundation's decoder (the router's) reads such an object with the
/// first value and Python's `json` with the last, so the server refuses a body that holds one rather than read it one
/// of the two ways. Public only so that the fuzz target can reach it.
public struct RepeatedKey: Equatable, Sendable {
    /// A step from a JSON value into one it holds.
    public enum Step: Equatable, Sendable {
        case key(String)
        case index(Int)
    }

    /// The key, decoded.
    public let key: String
    /// The steps from the outermost value to the object that holds the key twice (none: the outermost value is it).
    public let path: [Step]

    /// Where the object is, as the 400 names it: ` in queries[2]`, or nothing for the outermost object.
    var place: String {
        guard !path.isEmpty else { return "" }
        let steps = path.enumerated().map { position, step in
            switch step {
            case .key(let key): (position == 0 ? "" : ".") + key
            case .index(let index): "[\(index)]"
            }
        }
        return " in " + steps.joined()
    }

    /// The first key that one object of `json` gives twice, in the order of the text, or `nil` when none does. Any
    /// bytes may be read: in one pass, without recursion, keeping each open object's keys (memory in proportion to
    /// the text). Keys compare as the decoder compares them, as Swift strings.
    public static func first(in json: UnsafeRawBufferPointer) -> RepeatedKey? {
        var open: [Container] = []
        var offset = 0
        while offset < json.count {
            let byte = json[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "{"):
                open.append(Container(isObject: true))
            case UInt8(ascii: "["):
                open.append(Container(isObject: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = open.popLast()
            case UInt8(ascii: ","):
                guard !open.isEmpty else { continue }
                if open[open.count - 1].isObject {
                    open[open.count - 1].expectsKey = true
                } else {
                    open[open.count - 1].index += 1
                }
            case UInt8(ascii: "\""):
                // To the closing quote, past each escaped byte.
                let start = offset
                var escaped = false
                while offset < json.count, json[offset] != UInt8(ascii: "\"") {
                    if json[offset] == UInt8(ascii: "\\") {
                        escaped = true
                        offset += 1
                    }
                    offset += 1
                }
                let text = UnsafeRawBufferPointer(rebasing: json[start..<min(offset, json.count)])
                offset += 1
                guard let last = open.indices.last, open[last].isObject, open[last].expectsKey else { continue }
                let key = escaped ? decoded(text) : String(decoding: text, as: UTF8.self)
                guard open[last].keys.insert(key).inserted else {
                    return RepeatedKey(
                        key: key, path: open.dropLast().map { $0.isObject ? .key($0.key) : .index($0.index) })
                }
                open[last].key = key
                open[last].expectsKey = false
            default:
                continue
            }
        }
        return nil
    }

    /// An object or an array that the text has opened and not yet closed.
    private struct Container {
        let isObject: Bool
        /// An object's keys so far.
        var keys: Set<String> = []
        /// Whether a string now is an object's key (after `{` or `,`), not a value.
        var expectsKey: Bool
        /// An object's last key: where the value being read is.
        var key = ""
        /// An array's element being read.
        var index = 0

        init(isObject: Bool) {
            self.isObject = isObject
            expectsKey = isObject
        }
    }

    /// The string whose text between the quotes is `text`, its escapes decoded; the text as it is where they cannot
    /// be.
    private static func decoded(_ text: UnsafeRawBufferPointer) -> String {
        var quoted = Data([UInt8(ascii: "\"")])
        quoted.append(contentsOf: text)
        quoted.append(UInt8(ascii: "\""))
        return (try? JSONDecoder().decode(String.self, from: quoted)) ?? String(decoding: text, as: UTF8.self)
    }
}
