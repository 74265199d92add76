import ArgumentParser
import CacheBuild
import Datasets
import Preprocessing
import Settings
import Support
import VectorCache

/// `w2vcache prepare parser`: arc-standard transitions and Chen & Manning features from a treebank.
struct PrepareParserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parser",
        abstract: "Prepare CoNLL-U/CoNLL-X treebanks for an arc-standard parser (Chen & Manning 2014 features).",
        discussion: """
            Each configuration of the static oracle becomes an example: 18 word, 18 POS and 12 arc-label ids, \
            labelled with the transition. Non-projective sentences, which arc-standard cannot build, are counted \
            and skipped; every projective test sentence is kept, an arc label training never saw becoming <UNK> \
            (label id 2, transitions LEFT(<UNK>) and RIGHT(<UNK>), the last of each kind). Word forms are \
            normalized with the book's digit and hyphen rule (no phrase merging).
            """
    )

    @OptionGroup var prepare: PrepareOptions
    @OptionGroup var oov: OOVOptions

    @Option(help: ArgumentHelp("Training treebank (.conllu or CoNLL-X).", valueName: "file"))
    var train: String

    @Option(help: ArgumentHelp("Test treebank.", valueName: "file"))
    var test: String

    @Option(
        help: "POS column: xpos (PTB tags in EWT; UPOS where empty) or upos (default: \(ParserOptions().pos.rawValue))."
    )
    var pos: CoNLLUReader.POSColumn?

    @Flag(help: "Count and skip malformed lines (and their sentences) instead of stopping.")
    var skipBadLines = false

    @Option(parsing: .unconditional, help: "Fail unless the cache's vectors have this dimension.")
    var dim: Int?

    func run() throws {
        let configuration = try prepare.cache.loadConfiguration()
        let trainFile = try TextFile(path: train)
        let testFile = try TextFile(path: test)
        let cacheWriter = try prepare.openWriter(preparing: "parser", expectingDimension: dim)
        var options = ParserOptions()
        options.pos = pos ?? options.pos
        options.skipBadLines = skipBadLines
        let source = try oov.source(for: cacheWriter.cache, configuration: configuration)
        let report = try PrepareOptions.showingProgress {
            try ParserDataset.prepare(
                train: trainFile, test: testFile, into: cacheWriter, options: options, oov: source, progress: $0)
        }
        guard let statistics = PrepareOptions.statistics(of: report, "parser") else { return }
        for (split, counted) in [("train", statistics.train), ("test", statistics.test)] {
            Terminal.message(
                "\(split): \(counted.sentences) sentences, \(counted.nonProjective) non-projective skipped, "
                    + "\(counted.unknownLabelSentences) kept with \(counted.unknownLabelArcs) arcs of labels unseen in "
                    + "training (LEFT/RIGHT(<UNK>)), \(counted.configurations) configurations"
                    + (counted.skippedLines > 0
                        ? "; \(Plural.count(counted.skippedLines, "malformed line")) skipped, each with its sentence"
                        : "")
            )
        }
        let vocabularies = report.manifest.vocabularies
        Terminal.message(
            "prepared parser: \(vocabularies["words"] ?? 0) words (\(statistics.oovWords) out-of-vocabulary), "
                + "\(vocabularies["tags"] ?? 0) tags, \(vocabularies["labels"] ?? 0) labels, "
                + "\(vocabularies["transitions"] ?? 0) transitions (specials <NULL> <ROOT> <UNK> included)")
    }
}
