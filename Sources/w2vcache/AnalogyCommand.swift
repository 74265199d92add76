import ArgumentParser
import Similarity
import Support

/// `w2vcache analogy`: "A is to B as C is to ?".
struct AnalogyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analogy",
        abstract: "Answer \"A is to B as C is to ?\" (gensim's most_similar(positive=[B, C], negative=[A])).",
        discussion: """
            Prints the best answers, A, B and C left out. json prints {"similar": [{"word": x, "score": s}, ...]}. \
            Example: w2vcache analogy man king woman. A word that is not UTF-8 is asked for by its bytes, as in \
            similar.
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var options: SimilarityOptions

    @Argument(help: "A, as in \"A is to B\".")
    var a: String
    @Argument(help: "B.")
    var b: String
    @Argument(help: "C, as in \"as C is to ?\".")
    var c: String

    func run() throws {
        let search = try SimilarityOptions.openSearch(cache)
        let words = W2VCache.argumentBytes(of: [a, b, c])
        let (a, b, c) = (words[0], words[1], words[2])
        let query = SimilarityQuery(positive: [b, c], negative: [a], top: try options.top(search))
        let neighbors = try search.mostSimilar([query], restrictVocab: options.restrictVocab)[0]
        let output =
            switch options.format {
            case .json: "{\"similar\": \(SimilarityOptions.json(neighbors))}\n"
            case .text:
                "\(Printable.escape(bytes: a)) is to \(Printable.escape(bytes: b)) as \(Printable.escape(bytes: c)) is to\n"
                    + SimilarityOptions.text(neighbors)
            }
        try Terminal.writeStdout(Array(output.utf8))
    }
}
