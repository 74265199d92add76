import Foundation

/// How w2vcache writes floats that JSON has no numbers for (NaN and the infinities, which a cache built with
/// `--non-finite keep` holds): as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`, which Python's `float()`
/// and `numpy.array(…, dtype="float32")` read back. The server's answers and `--format json` outputs use this one
/// convention.
public enum NonFiniteJSON {
    /// For `JSONEncoder.nonConformingFloatEncodingStrategy`.
    public static let strategy = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")

    /// `value` as JSON text: a number, or one of the three strings.
    public static func text(_ value: Float) -> String {
        if value.isNaN { return "\"NaN\"" }
        if value.isInfinite { return value < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        return "\(value)"
    }

    /// `value` as JSON text: a number, or one of the three strings.
    public static func text(_ value: Double) -> String {
        if value.isNaN { return "\"NaN\"" }
        if value.isInfinite { return value < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        return "\(value)"
    }
}
