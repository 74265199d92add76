import ArgumentParser
import Datasets
import Foundation
import Preprocessing
import Support

/// `w2vcache datasets`: what is prepared in the cache.
struct DatasetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets",
        abstract: "List the datasets prepared in the cache."
    )

    @OptionGroup var cache: CacheOptions

    func run() throws {
        let vectorCache = try cache.openCache()
        let prepared = DatasetStore.eachPrepared(in: vectorCache)
        if prepared.isEmpty {
            try Terminal.writeStdout(Array("no datasets prepared; see `w2vcache prepare --help`\n".utf8))
            return
        }
        var lines: [String] = []
        var damage: (any Error)?
        for (name, result) in prepared {
            // A damaged dataset is listed beside the others, then is the command's error.
            let manifest: DatasetManifest
            switch result {
            case .success(let read): manifest = read
            case .failure(let error):
                lines.append("\(name): damaged")
                damage = damage ?? error
                continue
            }
            let splits = manifest.splits.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(
                separator: ", ")
            let vocabularies = manifest.vocabularies.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                separator: ", ")
            let arrays = manifest.arrays.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value.type.rawValue)\($0.value.shape)" }.joined(separator: ", ")
            lines.append("\(manifest.name): \(splits) examples; \(vocabularies)")
            lines.append("  from \(manifest.inputs.map(\.name).joined(separator: ", ")) at \(manifest.preparedAt)")
            lines.append("  options: " + Self.options(manifest.details))
            lines.append("  arrays: \(arrays)")
        }
        try Terminal.lines(lines)
        if let damage { throw damage }
    }

    /// A dataset's options as compact JSON, keys sorted.
    static func options(_ details: DatasetDetails) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data? =
            switch details {
            case .pos(let options, _): try? encoder.encode(options)
            case .parser(let options, _): try? encoder.encode(options)
            case .sentiment(let options, _): try? encoder.encode(options)
            case .translation(let options, _): try? encoder.encode(options)
            }
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
