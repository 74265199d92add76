import ArgumentParser
import VectorCache

/// The `w2vcache` command: a word2vec embedding cache on LevelDB.
@main
struct W2VCache: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w2vcache",
        abstract: "A word2vec embedding cache on LevelDB.",
        discussion: """
            Build a cache once from a word2vec file (binary or text, gzipped or not), then read vectors in \
            milliseconds. Keys are the words' UTF-8 bytes and values raw little-endian float32, so Python reads the \
            cache with plyvel and numpy unchanged.
            """,
        version: w2vcacheVersion,
        subcommands: [
            BuildCommand.self, LookupCommand.self, InfoCommand.self, VerifyCommand.self, PrepareCommand.self,
            DatasetsCommand.self, BatchesCommand.self, ServeCommand.self, TokenizeCommand.self, SampleCommand.self,
        ]
    )
}
