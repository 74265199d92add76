import ArgumentParser
import Settings
import VectorCache

/// `--oov`: which vectors a prepare gives the words the cache lacks.
struct OOVOptions: ParsableArguments {
    @Option(
        name: .customLong("oov"),
        help: ArgumentHelp(
            "Vectors for words the cache lacks: subword (their character n-grams', for a cache built from a fastText "
                + ".bin model; the default there) or random (seeded, the book's; the default elsewhere).",
            valueName: "kind"))
    var kind: OOVKind?

    /// The out-of-vocabulary vectors of `cache`, as the configuration and the flag say.
    func source(for cache: VectorCache, configuration: Configuration) throws -> OOVSource {
        try configuration.oovSource(for: cache, kind: kind)
    }
}
