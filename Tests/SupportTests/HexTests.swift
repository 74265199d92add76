import Support
import Testing

@Suite struct HexTests {
    @Test func everyByteReadsAsTheDigitItIsOrNone() {
        for byte in UInt8.min...UInt8.max {
            let expected = byte < 0x80 ? UInt8(String(UnicodeScalar(byte)), radix: 16) : nil
            #expect(Hex.value(of: byte) == expected, "byte \(byte)")
        }
    }

    @Test func valuesAreWrittenWithTwoDigitsAByte() {
        #expect(Hex.text(UInt8(0xE9)) == "E9" && Hex.text(UInt8(7)) == "07")
        #expect(Hex.text(UInt16(0xE9)) == "00E9" && Hex.text(UInt16(0xDCE9), uppercase: false) == "dce9")
        #expect(Hex.text(UInt32(0x1C291CA3), uppercase: false) == "1c291ca3" && Hex.text(UInt32(0)) == "00000000")
    }
}
