import ArgumentParser
import Foundation
import Similarity
import Support

/// Options the similarity commands share, and how they print answers.
struct SimilarityOptions: ParsableArguments {
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(
        parsing: .unconditional,
        help: "How many words to print per query (default \(SimilarityQuery.defaultTop); at most the cache's words).")
    var top: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Search only the first N words of the vectors file (gensim's restrict_vocab; default: all).", valueName: "n"
        ))
    var restrictVocab: Int?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if let restrictVocab, restrictVocab < 1 { throw ValidationError("--restrict-vocab must be at least 1") }
    }

    /// The answers per query: `--top`, or the default (every word of a smaller vocabulary).
    /// - throws: `ValidationError` for a `--top` above the cache's words, named as the flag.
    func top(_ search: SimilaritySearch) throws -> Int {
        guard let top else { return min(SimilarityQuery.defaultTop, search.wordCount) }
        guard top <= search.wordCount else {
            throw ValidationError(
                "--top \(top) is more than the \(search.wordCount) words of the vectors file; expected 1 to "
                    + "\(search.wordCount)")
        }
        return top
    }

    /// Loads the search index of the cache, saying so on a terminal when it takes a while.
    static func openSearch(_ cache: CacheOptions) throws -> SimilaritySearch {
        let opened = try cache.openCache()
        defer { Terminal.endProgress() }
        return try SimilaritySearch(cache: opened) { rows, total in
            if total > 500_000 {
                Terminal.progress(
                    "loading the search index: \(Human.count(Double(rows))) of \(Human.count(Double(total))) words")
            }
        }
    }

    /// `{"word": x, "score": s}, …` for JSON, or one `score word` line each for text.
    static func json(_ neighbors: [Neighbor]) -> String {
        "["
            + neighbors.map {
                "{\"word\": \(JSONText.string(bytes: $0.word)), \"score\": \(NonFiniteJSON.text(Double($0.score)))}"
            }.joined(separator: ", ") + "]"
    }

    static func text(_ neighbors: [Neighbor]) -> String {
        neighbors.map { String(format: "  %.6f  ", Double($0.score)) + Printable.escape(bytes: $0.word) + "\n" }
            .joined()
    }
}
