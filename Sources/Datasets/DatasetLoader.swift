import VectorCache

/// Opens a prepared dataset by name as a ``BatchSource``.
public enum DatasetLoader {
    /// The names of the datasets this tool prepares.
    public static let names = ["pos", "parser", "sentiment", "translation"]

    /// - throws: ``DatasetError/notPrepared(_:)`` (saying how to prepare it) or ``DatasetError/badRequest(_:)`` for
    ///   an unknown name.
    public static func load(_ name: String, from cache: VectorCache) throws -> any BatchSource {
        switch name {
        case "pos": return try POSDataset(cache: cache)
        case "parser": return try ParserDataset(cache: cache)
        case "sentiment": return try SentimentDataset(cache: cache)
        case "translation": return try TranslationDataset(cache: cache)
        default:
            throw DatasetError.badRequest("unknown dataset \(name); expected one of \(names.joined(separator: ", "))")
        }
    }
}
