import CacheBuild
import VectorCache

extension DatasetStore {
    /// Reads every prepared dataset back as the server reads it, for `w2vcache verify`: its manifest, its examples
    /// (each id inside its vocabulary, each window, configuration or pair inside its split, as ``DatasetLoader``
    /// checks them), its vocabularies and its embedding matrix, every chunk checked against LevelDB's checksums.
    /// A dataset that does not read back whole is one problem in `report`, naming it and what is wrong.
    /// - Parameter checking: called with each dataset before it is read; what it throws stops the verification.
    /// - Returns: how many datasets read back whole.
    @discardableResult
    public static func verify(
        in cache: VectorCache, into report: inout VerifyReport, checking: (DatasetName) throws -> Void = { _ in }
    ) throws -> Int {
        var whole = 0
        for name in DatasetName.allCases {
            try checking(name)
            do {
                guard let manifest = try manifest(name, in: cache) else { continue }
                _ = try DatasetLoader.load(name, from: cache)
                let stored = load(manifest, from: cache)
                for list in manifest.vocabularies.keys { _ = try stored.strings(list) }
                if manifest.arrays["embeddings"] != nil { _ = try stored.bytes(of: "embeddings") }
                whole += 1
            } catch {
                // A DatasetError names the dataset itself.
                report.problem(error is DatasetError ? "\(error)" : "dataset \(name.rawValue): \(error)")
            }
        }
        return whole
    }
}
