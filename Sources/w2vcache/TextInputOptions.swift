import ArgumentParser
import Preprocessing

/// What `prepare sentiment` and `prepare translation` do with text they cannot use: bytes that are not UTF-8, and
/// malformed lines.
struct TextInputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Bytes that are not UTF-8: replace (counted), skip the example, or fail (default: "
                + "\(DecodingPolicy.standard.rawValue)).")
    )
    var encodingErrors: DecodingPolicy?

    @Flag(help: "Count and skip malformed lines and empty examples instead of stopping.")
    var skipBadLines = false

    /// Sets a dataset's options from these flags, keeping the configuration's where a flag is not given.
    func apply(decoding: inout DecodingPolicy, skipBadLines: inout Bool) {
        decoding = encodingErrors ?? decoding
        skipBadLines = skipBadLines || self.skipBadLines
    }
}
