import LevelDB
import Support

/// Why a cache could not be opened, built or read, in words a user can act on.
public struct CacheError: DescribedError, Equatable {
    public enum Kind: Sendable, Equatable {
        case missing, notACache, corrupt, incompatible, interrupted, badInput, io
        /// Other processes read the cache, and the operation needs it alone (a build, a prepare, a copy's
        /// destination), or a prepare has it and readers must wait.
        case inUse
        /// The path given for a cache holds something that is not a cache: nothing was changed.
        case refused
        /// Another build or prepare is writing the cache.
        case busy
        /// The machine lacks what the operation needs now (memory for the search index): try again later.
        case unavailable
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Nothing at `path`, where a cache was expected.
    package static func noCache(at path: String) -> CacheError {
        CacheError(.missing, "no cache at \(path); create one with `w2vcache build --vectors FILE --db \(path)`")
    }

    /// Translates a LevelDB error met on the cache at `path`; `alone` says the open wanted the cache alone.
    package static func from(_ error: LevelDBError, path: String, alone: Bool = false) -> CacheError {
        switch error.kind {
        case .inUse where alone:
            CacheError(
                .inUse, "the cache \(path) is in use by another process (for example `w2vcache serve`); stop it first")
        case .inUse:
            CacheError(
                .inUse,
                "the cache \(path) is being written by another process (a `w2vcache prepare`); wait for it to finish")
        case .corruption:
            CacheError(
                .corrupt,
                "the cache \(path) is damaged (\(error.message)); run `w2vcache verify --db \(path)` for a full check, "
                    + "and rebuild it with `w2vcache build`"
            )
        case .notFound, .invalidArgument:
            CacheError(
                .missing, "no cache at \(path) (\(error.message)); create one with `w2vcache build --vectors FILE`")
        default:
            CacheError(.io, "cannot use the cache \(path): \(error.message)")
        }
    }
}
