import ArgumentParser

/// `w2vcache prepare`: turns raw datasets into trainer-ready data stored in the cache.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Prepare a dataset for a trainer and store it in the cache.",
        discussion:
            "Preparing again with the same inputs and options says so and does nothing; changed inputs replace the old "
            + "data, in one write: a preparation that fails or is stopped leaves the stored dataset as it was. Ctrl-C "
            + "or SIGTERM stops it within a moment (exit status 130), nothing written. A terminal "
            + "shows what a preparation reads, how far its long steps are, and when it stores.",
        subcommands: [
            PreparePOSCommand.self, PrepareParserCommand.self, PrepareSentimentCommand.self,
            PrepareTranslationCommand.self,
        ]
    )
}
