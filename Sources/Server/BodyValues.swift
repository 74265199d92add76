import Support

// Values of a JSON body that Foundation's decoder refuses without saying what was wrong with them: a number that is
// not a whole one (with no place at all), a string that is none of an enum's (naming the Swift type). Read as these,
// each is refused naming its key, what it was and what was expected.

/// A whole number: `1.5` is refused as `top: expected a whole number, found 1.5`.
struct WholeNumber: Decodable, Sendable {
    var value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            value = try container.decode(Int.self)
        } catch {
            // Anything but a number (a string, a list) keeps the decoder's own error, which names the key.
            guard let number = try? container.decode(Double.self) else { throw error }
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: number.rounded() == number
                        ? "expected a whole number from \(Int.min) to \(Int.max), found \(number)"
                        : "expected a whole number, found \(number)"))
        }
    }
}

/// One of `Value`'s strings: `"ZERO"` is refused as `missing: expected "error", "zero" or "oov", found "ZERO"`.
struct Choice<Value: RawRepresentable & CaseIterable & Sendable>: Decodable, Sendable where Value.RawValue == String {
    var value: Value

    init(from decoder: any Decoder) throws {
        let word = try Word(from: decoder).bytes
        guard let value = String(validating: word, as: UTF8.self).flatMap(Value.init(rawValue:)) else {
            var names = Value.allCases.map { "\"\($0.rawValue)\"" }
            let last = names.popLast().map { names.isEmpty ? $0 : " or " + $0 } ?? ""
            let expected = names.joined(separator: ", ") + last
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "expected \(expected), found \"\(Printable.escape(bytes: word, limit: 80))\""))
        }
        self.value = value
    }
}
