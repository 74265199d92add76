/// How far a preparation has come, for a command's progress line: what it reads, how many of its examples a step
/// has been through, and the final write into the cache.
public enum PrepareProgress: Sendable, Equatable {
    /// Reading and decoding an input: a file, two aligned files, a directory of reviews.
    case reading(String)
    /// `done` of `total` examples (pairs, reviews, sentences) through `step` (`tokenizing train pairs`).
    case working(String, done: Int, total: Int)
    /// Writing the prepared dataset, and its words' out-of-vocabulary vectors, into the cache in one change:
    /// `written` of about `total` bytes.
    case storing(written: Int, total: Int)
}

/// Told each ``PrepareProgress`` in turn (never from two threads at once).
public typealias PrepareProgressHandler = @Sendable (PrepareProgress) -> Void

extension PrepareProgress {
    /// Examples between two reports of a step done one example at a time.
    static let interval = 65_536
}
