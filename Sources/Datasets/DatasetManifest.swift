import Preprocessing

/// What a prepared dataset holds and what it was prepared from, stored as JSON in the cache.
public struct DatasetManifest: Codable, Sendable, Equatable {
    /// `pos`, `parser`, `sentiment` or `translation`.
    public var name: String
    /// The input files' names, sizes and CRC-32s, in the order given.
    public var inputs: [InputFingerprint]
    /// Every option that shapes the data, as text.
    public var parameters: [String: String]
    public var toolVersion: String
    /// The cache's vector dimension at preparation.
    public var dimension: Int
    public var preparedAt: String
    /// Examples per split (e.g. windows, parser configurations, reviews, sentence pairs).
    public var splits: [String: Int]
    /// Shapes and types of the stored arrays.
    public var arrays: [String: ArrayInfo]
    /// Sizes of the stored string lists (vocabularies, tag sets).
    public var vocabularies: [String: Int]
    /// Counts reported by the preparation (found, merged, skipped, …).
    public var statistics: [String: Int]

    /// Whether preparing with these inputs and parameters again would give the same data.
    public func matches(inputs: [InputFingerprint], parameters: [String: String], toolVersion: String) -> Bool {
        self.inputs == inputs && self.parameters == parameters && self.toolVersion == toolVersion
    }
}

/// A stored array's element type and shape.
public struct ArrayInfo: Codable, Sendable, Equatable {
    public enum ElementType: String, Codable, Sendable {
        case float32, int32
    }

    public var type: ElementType
    public var shape: [Int]
    /// How many LevelDB values hold it.
    public var chunks: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount * 4 }
}
