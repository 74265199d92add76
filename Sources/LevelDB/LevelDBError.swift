import CLevelDB
import Support

/// An error reported by LevelDB, built from the message string its C API returns.
///
/// LevelDB's C API reports failures as a `malloc`'d string such as `"IO error: lock ./db/LOCK: already held by
/// process"`. ``LevelDBError`` keeps that message and classifies it by the status prefix LevelDB writes.
public struct LevelDBError: DescribedError, Equatable {
    /// The class of a LevelDB failure, taken from the status prefix of its message.
    public enum Kind: Sendable, Equatable {
        case notFound
        case corruption
        case notSupported
        case invalidArgument
        case ioError
        /// Another process (or another handle in this process) holds the database's `LOCK` file.
        case inUse
        /// The database was closed with ``Database/close()``.
        case closed
        case unknown
    }

    public let kind: Kind
    /// LevelDB's own message, unchanged.
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// Classifies a LevelDB status message.
    public init(message: String) {
        self.message = message
        if message.contains("LOCK")
            && (message.contains("already held") || message.contains("Resource temporarily unavailable"))
        {
            kind = .inUse
        } else if message.hasPrefix("NotFound:") {
            kind = .notFound
        } else if message.hasPrefix("Corruption:") {
            kind = .corruption
        } else if message.hasPrefix("Not implemented:") {
            kind = .notSupported
        } else if message.hasPrefix("Invalid argument:") {
            kind = .invalidArgument
        } else if message.hasPrefix("IO error:") {
            kind = .ioError
        } else {
            kind = .unknown
        }
    }

    /// Runs a C call that reports errors through a `char** errptr`, frees the error string and throws it.
    static func check<R>(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> R) throws -> R {
        var error: UnsafeMutablePointer<CChar>? = nil
        let result = try body(&error)
        if let error {
            let message = String(cString: error)
            leveldb_free(error)
            throw LevelDBError(message: message)
        }
        return result
    }
}
