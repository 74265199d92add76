/// Hexadecimal digits, as escapes (`\xE9`, `\u00E9`) and percent-encoding (`%E9`) write bytes.
public enum Hex {
    /// The value of one ASCII hex digit (`0`-`9`, `a`-`f`, `A`-`F`), or `nil`.
    @inlinable public static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `value` in hex, two digits a byte: `E9`, `00E9` (`00e9` in lower case).
    public static func text<T: FixedWidthInteger>(_ value: T, uppercase: Bool = true) -> String {
        let digits = String(value, radix: 16, uppercase: uppercase)
        return String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
    }
}
