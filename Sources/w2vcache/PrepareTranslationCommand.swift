import ArgumentParser
import CacheBuild
import Datasets
import Preprocessing
import Settings
import VectorCache

/// `w2vcache prepare translation`: bucketed sentence pairs for a seq2seq model.
struct PrepareTranslationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translation",
        abstract: "Prepare English-French sentence pairs: tokens, vocabularies, length buckets.",
        discussion: """
            Input: two line-aligned files or one source<TAB>target file. Aligned files are read as torchtext's \
            IWSLT2016 reader does (--markup auto): in a .tags file the TED metadata lines (<url, <keywords, \
            <talkid, <description, <reviewer, <translator, <title, <speaker, <doc, </doc) are dropped and counted \
            and every other line kept; an .xml file gives the text of its <seg> elements. A pair goes to the first \
            bucket (S, T) with len(source) < S and len(target) + 1 < T, else to the last, cut. Source: padded to S \
            then reversed; target: <go> tokens <eos> padded to T. Vocabularies: <unk> 0, <pad> 1, <go> 2, <eos> 3, \
            then by frequency (ties by string order), every token kept and case kept, as in the book.
            """
    )

    @OptionGroup var prepare: PrepareOptions

    @Option(help: ArgumentHelp("English training file (line-aligned with --target).", valueName: "file"))
    var source: String?

    @Option(help: ArgumentHelp("French training file.", valueName: "file"))
    var target: String?

    @Option(
        help: ArgumentHelp(
            "Training pairs as source<TAB>target lines, instead of --source/--target.", valueName: "file"))
    var tsv: String?

    @Option(help: ArgumentHelp("English validation file.", valueName: "file"))
    var validSource: String?

    @Option(help: ArgumentHelp("French validation file.", valueName: "file"))
    var validTarget: String?

    @Option(help: ArgumentHelp("Validation pairs as TSV.", valueName: "file"))
    var validTSV: String?

    @Option(
        help: ArgumentHelp(
            "Buckets as \"S,T S,T ...\" (default from the configuration: "
                + "\"\(TranslationOptions().buckets.map(\.description).joined(separator: " "))\").")
    )
    var buckets: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Keep tokens seen at least this often in training (default from the configuration: "
                + "\(TranslationOptions().minFrequency)).")
    )
    var minFreq: Int?

    @Option(
        parsing: .unconditional,
        help: "Cap each vocabulary at this many ids, specials included (default: no cap, as in the book).")
    var maxVocab: Int?

    @Flag(help: "The files are tokenized already: split on whitespace.")
    var pretokenized = false

    @Flag(help: "Lowercase every token (the book keeps case).")
    var lowercase = false

    @Option(
        help: ArgumentHelp(
            "Which lines of aligned files are sentences: auto (by file name), tags, xml or none (every line) (default: "
                + "\(TranslationOptions().markup.rawValue)).")
    )
    var markup: MarkupFilter?

    @OptionGroup var input: TextInputOptions

    func validate() throws {
        // Each split from one place: a file that would go unread is refused, not ignored.
        guard tsv == nil ? source != nil && target != nil : source == nil && target == nil else {
            throw ValidationError("give --source and --target, or --tsv, not both")
        }
        guard validTSV == nil ? (validSource == nil) == (validTarget == nil) : validSource == nil && validTarget == nil
        else {
            throw ValidationError("give both --valid-source and --valid-target, or --valid-tsv, or neither")
        }
        if let maxVocab, maxVocab < 5 {
            throw ValidationError("--max-vocab must leave room for a token besides the 4 specials")
        }
        if let buckets, LengthBucket.parseList(buckets) == nil {
            throw ValidationError(
                "--buckets: expected pairs \"S,T\" separated by spaces, with \(LengthBucket.expected)")
        }
    }

    func run() throws {
        let configuration = try prepare.cache.loadConfiguration()
        var options = configuration.translation
        options.buckets = buckets.flatMap(LengthBucket.parseList) ?? options.buckets
        options.minFrequency = minFreq ?? options.minFrequency
        options.maxVocabulary = maxVocab ?? options.maxVocabulary
        options.pretokenized = pretokenized
        options.lowercase = lowercase
        options.markup = markup ?? options.markup
        input.apply(decoding: &options.decoding, skipBadLines: &options.skipBadLines)
        let train: ParallelInput = tsv.map { .tsv($0) } ?? .aligned(source: source!, target: target!)
        let valid: ParallelInput? =
            validTSV.map { .tsv($0) }
            ?? validSource.map { .aligned(source: $0, target: validTarget!) }
        let cacheWriter = try prepare.openWriter(preparing: "translation")
        let prepared = try PrepareOptions.showingProgress {
            try TranslationDataset.prepare(
                train: train, valid: valid, into: cacheWriter, options: options, progress: $0)
        }
        guard let statistics = PrepareOptions.statistics(of: prepared, "translation") else { return }
        for (split, counted) in [("train", statistics.train), ("valid", statistics.valid)] {
            guard let counted else { continue }
            let perBucket = zip(options.buckets, counted.perBucket).map { "\($0): \($1)" }
            Terminal.message(
                "\(split): \(counted.pairs) pairs; per bucket " + perBucket.joined(separator: ", ")
                    + "; \(counted.cut) cut to fit the last bucket; \(counted.sourceMarkupLines) + "
                    + "\(counted.targetMarkupLines) markup "
                    + "lines dropped (torchtext's IWSLT rules); \(counted.skipped) bad pairs skipped")
        }
        Terminal.message(
            "prepared translation: \(statistics.sourceVocabulary) source and \(statistics.targetVocabulary) target ids")
    }
}
