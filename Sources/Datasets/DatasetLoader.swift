import VectorCache

/// Opens a prepared dataset by name as a ``BatchSource``.
public enum DatasetLoader {
    /// - throws: ``DatasetError/notPrepared(_:)``, saying how to prepare it.
    public static func load(_ name: DatasetName, from cache: VectorCache) throws -> any BatchSource {
        switch name {
        case .pos: try POSDataset(cache: cache)
        case .parser: try ParserDataset(cache: cache)
        case .sentiment: try SentimentDataset(cache: cache)
        case .translation: try TranslationDataset(cache: cache)
        }
    }
}
