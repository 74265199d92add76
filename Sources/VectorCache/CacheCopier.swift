import Foundation
import LevelDB

/// What a copy did.
public struct CopySummary: Sendable {
    /// The fingerprint the source and the copy share.
    public var fingerprint: String
    /// Table files hard-linked (same filesystem) or copied, and the bytes copied.
    public var linkedFiles: Int
    public var copiedFiles: Int
    public var copiedBytes: UInt64
    /// Whether the copy was read through once with checksums on (done when any table was copied, not linked).
    public var verified: Bool
}

/// Makes a replica of a cache for another `serve`: LevelDB admits one process per directory, so each replica needs
/// its own.
///
/// Table files never change once written, so on one filesystem they are hard-linked; everything else (and every
/// file across filesystems) is copied. The copy is made in a temporary sibling of the destination and swapped into
/// place like a build, only after its fingerprint equals the source's (and, when tables were copied, after a full
/// read with checksums on). The destination may be what a build may replace; both caches' writer locks are held.
public enum CacheCopier {
    /// Copies the cache at `sourcePath` to `destinationPath`.
    /// - Parameter fingerprint: what identifies a cache's content (datasets included), computed on the source and
    ///   on the copy.
    /// - throws: ``CacheError`` (the source in use, the destination not replaceable, a mismatch).
    public static func copy(
        from sourcePath: String, to destinationPath: String, options: Options = .cacheDefaults, wait: Bool = false,
        fingerprint: (VectorCache) throws -> String
    ) throws -> CopySummary {
        let source = CacheLocation(path: sourcePath)
        let destination = CacheLocation(path: destinationPath)
        guard source.parent + "/" + source.name != destination.parent + "/" + destination.name else {
            throw CacheError(.refused, "\(destinationPath) is the source itself; give another directory")
        }
        let sourceLock = try CacheWriterLock(cachePath: source.path, purpose: "w2vcache copy (source)", wait: wait)
        let destinationLock = try CacheWriterLock(cachePath: destination.path, purpose: "w2vcache copy", wait: wait)
        defer { withExtendedLifetime((sourceLock, destinationLock)) {} }
        try destination.checkReplaceable()
        destination.removeStaleTemporaries()

        // The source's fingerprint, with the source closed again before its files are read: nothing writes them now.
        let expected: String
        do {
            let opened = try VectorCache(path: source.path, options: options)
            expected = try fingerprint(opened)
            try opened.close()
        }
        let buildPath = try destination.createBuildDirectory()
        var succeeded = false
        defer { if !succeeded { _ = CacheLocation.removeBuildDirectory(buildPath) } }
        var summary = CopySummary(fingerprint: expected, linkedFiles: 0, copiedFiles: 0, copiedBytes: 0, verified: false)
        let names = try FileManager.default.contentsOfDirectory(atPath: source.path).sorted()
        for name in names where CacheLocation.isLevelDBFile(name) && !["LOCK", "LOG", "LOG.old"].contains(name) {
            let from = source.path + "/" + name, to = buildPath + "/" + name
            let isTable = name.hasSuffix(".ldb") || name.hasSuffix(".sst")
            if isTable && link(from, to) == 0 {
                summary.linkedFiles += 1
                continue
            }
            do {
                try FileManager.default.copyItem(atPath: from, toPath: to)
            } catch {
                throw CacheError(.io, "cannot copy \(from) to \(to): \(error.localizedDescription)")
            }
            summary.copiedFiles += 1
            summary.copiedBytes += (try? FileManager.default.attributesOfItem(atPath: to)[.size] as? NSNumber)?.uint64Value ?? 0
            if isTable { summary.verified = true }
        }

        do {
            let copy = try VectorCache(path: buildPath, options: options)
            let found = try fingerprint(copy)
            guard found == expected else {
                throw CacheError(.corrupt, "the copy's fingerprint is \(found) but the source's is \(expected); nothing was replaced")
            }
            if summary.verified {
                let report = try copy.verify()
                guard report.isHealthy else {
                    throw CacheError(.corrupt, "the copy failed verification (\(report.problems.first ?? "")); nothing was replaced")
                }
            }
            try copy.close()
        }
        try destination.swapIntoPlace(from: buildPath)
        succeeded = true
        return summary
    }
}
