import LevelDB

/// Why a cache could not be opened, built or read, in words a user can act on.
public struct CacheError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case missing, inUse, notACache, corrupt, incompatible, interrupted, badInput, io
        /// The path given for a cache holds something that is not a cache: nothing was changed.
        case refused
        /// Another build or prepare is writing the cache.
        case busy
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Translates a LevelDB error met on the cache at `path`.
    static func from(_ error: LevelDBError, path: String) -> CacheError {
        switch error.kind {
        case .inUse:
            CacheError(.inUse, "the cache \(path) is in use by another process (for example `w2vcache serve`); stop it or read through the server")
        case .corruption:
            CacheError(.corrupt, "the cache \(path) is damaged (\(error.message)); run `w2vcache verify --db \(path)` for a full check, and rebuild it with `w2vcache build`")
        case .notFound, .invalidArgument:
            CacheError(.missing, "no cache at \(path) (\(error.message)); create one with `w2vcache build --vectors FILE`")
        default:
            CacheError(.io, "cannot use the cache \(path): \(error.message)")
        }
    }
}
