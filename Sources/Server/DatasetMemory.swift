import Datasets
import Foundation
import HTTPTypes
import Support

/// The memory held by what the server loads from its prepared datasets and keeps (each dataset's examples, its
/// embedding matrix as `.npy`, its vocabularies as JSON), bounded together by ``ServerSettings/maxDatasetBytes``.
/// Each of these is bounded by the machine's memory on its own; this bounds their sum, so that a cache prepared with
/// more than its host holds answers 503 for what does not fit, naming the bound, where the server could be killed
/// for memory while it warmed up.
///
/// A load reserves what it will hold before it reads a byte (``load(_:for:_:)``) and keeps the reservation for as
/// long as the server keeps what it loaded (the server's life); a load that fails gives it back.
final class DatasetMemory: Sendable {
    /// The bytes loaded datasets may hold together.
    let limit: Int
    private let used = Locked(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held by what is loaded or being loaded.
    var bytes: Int { used.withLock { $0 } }

    /// Reserves `bytes` for `what` (a dataset's part, in words), runs `load`, and gives the bytes back if it fails.
    /// - throws: ``APIError`` 503 naming `what` and the bound when the bytes do not fit beside those held, before
    ///   `load` runs; whatever `load` throws.
    func load<Value>(_ bytes: Int, for what: String, _ load: () throws -> Value) throws -> Value {
        try reserve(bytes, for: what)
        do {
            return try load()
        } catch {
            release(bytes)
            throw error
        }
    }

    /// Holds `bytes` more for `what`, made already (its size known only once made), or throws the 503 of
    /// ``load(_:for:_:)``; the caller drops what it made.
    func reserve(_ bytes: Int, for what: String) throws {
        let held: Int? = used.withLock { used in
            guard bytes <= limit - used else { return used }
            used += bytes
            return nil
        }
        guard let held else { return }
        throw APIError(
            .serviceUnavailable,
            "loading \(what) needs \(megabytes(bytes)) MB, and the datasets this server has loaded hold "
                + "\(megabytes(held)) MB of the \(megabytes(limit)) MB they may (server.max_datasets_mb): "
                + "raise it, or serve the datasets from more than one server")
    }

    private func release(_ bytes: Int) {
        used.withLock { $0 -= bytes }
    }
}

extension DatasetManifest {
    /// What its examples take in memory once loaded: its arrays (the embedding matrix among them) and 32 bytes for
    /// each string of its vocabularies, added up saturating (a manifest as read has well-formed arrays, but a forged
    /// one may claim lists whose sum is beyond `Int`).
    var loadedBytes: Int {
        func adding(_ sum: Int, _ size: Int) -> Int {
            let (total, overflow) = sum.addingReportingOverflow(max(0, size))
            return overflow ? .max : total
        }
        let strings = vocabularies.values.reduce(0, adding)
        return arrays.values.map(\.byteCount).reduce(strings > Int.max / 32 ? .max : strings * 32, adding)
    }
}
