import ArgumentParser
import Similarity
import Support

/// `w2vcache similar`: the nearest words of each word given.
struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar",
        abstract: "Print the words nearest to each word given (gensim's most_similar).",
        discussion: """
            Cosine similarity over the words of the vectors file, the word itself left out, scored as gensim 4's \
            KeyedVectors.most_similar scores them. Out-of-vocabulary vectors made by prepare are never answers. \
            json prints one object per word: {"word": w, "similar": [{"word": x, "score": s}, ...]}. Needs the \
            search index that w2vcache build makes. A word that is not UTF-8 (build keeps such words as their file \
            wrote them) is asked for by its bytes and printed with \\xNN escapes in text, each such byte as \\udcNN \
            in json, as Python's surrogateescape writes it.
            """
    )

    @OptionGroup var cache: CacheOptions
    @OptionGroup var options: SimilarityOptions

    @Argument(help: "The words.")
    var words: [String]

    func validate() throws {
        if words.isEmpty { throw ValidationError("name at least one word") }
    }

    func run() throws {
        let search = try SimilarityOptions.openSearch(cache)
        let words = W2VCache.argumentBytes(of: words)
        let answers = try search.mostSimilar(
            words.map { SimilarityQuery(positive: [$0], top: try options.top(search)) },
            restrictVocab: options.restrictVocab)
        var output = ""
        for (word, neighbors) in zip(words, answers) {
            switch options.format {
            case .json:
                output +=
                    "{\"word\": \(JSONText.string(bytes: word)), "
                    + "\"similar\": \(SimilarityOptions.json(neighbors))}\n"
            case .text: output += Printable.escape(bytes: word) + "\n" + SimilarityOptions.text(neighbors)
            }
        }
        try Terminal.writeStdout(Array(output.utf8))
    }
}
