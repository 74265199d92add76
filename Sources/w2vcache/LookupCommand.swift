import ArgumentParser
import Foundation
import NumPyFormat
import Support
import VectorCache

/// `w2vcache lookup`: prints the vectors of words.
struct LookupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Print the vectors of words.",
        discussion: """
            Words come from the command line and from --words-from, in that order. \
            text: one line per word, the word then its values. json: one object per line, \
            {"word": ..., "vector": [...], "oov": false}. npy: a NumPy array on stdout, float32 [dim] for one word, \
            [n, dim] for several. A word not in the cache is named on stderr and the exit status is 1; the words \
            found are still printed.
            """
    )

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json, npy
    }

    @OptionGroup var cache: CacheOptions

    @Option(name: .long, help: "Output format: text, json or npy.")
    var format: OutputFormat = .text

    @Option(
        name: .customLong("words-from"),
        help: ArgumentHelp("Also look up the words in this file, one per line.", valueName: "file"))
    var wordsFrom: String?

    @Argument(help: "The words to look up.")
    var arguments: [String] = []

    func validate() throws {
        if arguments.isEmpty && wordsFrom == nil {
            throw ValidationError("name at least one word, or --words-from FILE")
        }
    }

    func run() throws {
        var words = arguments
        if let wordsFrom {
            words += try WordList.strings(path: wordsFrom)
        }
        let cache = try cache.openCache()
        var missing: [String] = []
        var found: [UInt8] = []
        var foundCount = 0
        var output = ""
        for word in words {
            let key = Array(word.utf8)
            let present = try cache.withVectorBytes(for: key) { bytes -> Bool in
                guard let bytes else { return false }
                switch format {
                case .npy:
                    found.append(contentsOf: bytes)
                case .text:
                    output +=
                        Printable.escape(word) + " " + Float32Bytes.decode(bytes).map { "\($0)" }.joined(separator: " ")
                        + "\n"
                case .json:
                    let oov = (try? cache.isOutOfVocabulary(key)) ?? false
                    output +=
                        "{\"word\": \(JSONText.string(word)), \"vector\": ["
                        + Float32Bytes.decode(bytes).map(NonFiniteJSON.text).joined(separator: ", ")
                        + "], \"oov\": \(oov)}\n"
                }
                return true
            }
            if present { foundCount += 1 } else { missing.append(word) }
        }
        switch format {
        case .npy:
            if foundCount > 0 {
                let shape = words.count == 1 ? [cache.manifest.dimension] : [foundCount, cache.manifest.dimension]
                Terminal.writeStdout(found.withUnsafeBytes { NPY.file(type: .float32, shape: shape, data: $0) })
            }
        case .text, .json:
            Terminal.writeStdout(Array(output.utf8))
        }
        if !missing.isEmpty {
            Terminal.message("w2vcache: not in the cache: " + missing.joined(separator: ", "))
            throw ExitCode(1)
        }
    }
}

/// JSON text for values printed by hand (to keep a fixed key order).
enum JSONText {
    static func string(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
