import CAtomicRename
import Foundation
import LevelDB

/// A cache directory and the temporary siblings a build uses next to it.
///
/// A build writes `.NAME.building-PID` (and a spill file `.NAME.spill-PID`) beside the cache and swaps the finished
/// directory into place, so a reader sees either the old cache or the new one, never a half-built one.
public struct CacheLocation: Sendable {
    public let path: String
    let parent: String
    let name: String

    public init(path: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.path = trimmed
        let url = URL(fileURLWithPath: trimmed)
        parent = url.deletingLastPathComponent().path
        name = url.lastPathComponent
    }

    var temporaryPrefix: String { ".\(name)." }

    func buildPath(pid: Int32 = getpid()) -> String {
        parent + "/" + temporaryPrefix + "building-\(pid)"
    }

    func spillPath(pid: Int32 = getpid()) -> String {
        parent + "/" + temporaryPrefix + "spill-\(pid)"
    }

    /// Whether a cache (or anything) is at ``path``.
    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Removes what builds of this cache left behind when they were killed (their process no longer runs).
    /// - Returns: the paths removed.
    @discardableResult
    func removeStaleTemporaries() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return [] }
        var removed: [String] = []
        for entry in names where entry.hasPrefix(temporaryPrefix) {
            guard let dash = entry.lastIndex(of: "-"), let pid = Int32(entry[entry.index(after: dash)...]) else { continue }
            let alive = kill(pid, 0) == 0 || errno == EPERM
            if !alive || pid == getpid() {
                let full = parent + "/" + entry
                if (try? FileManager.default.removeItem(atPath: full)) != nil { removed.append(full) }
            }
        }
        return removed
    }

    /// Throws ``CacheError/Kind/inUse`` if another process has the cache open.
    func checkNotInUse() throws {
        guard exists else { return }
        do {
            _ = try Database(path: path, options: Options())
        } catch let error as LevelDBError where error.kind == .inUse {
            throw CacheError.from(error, path: path)
        } catch {
            // Any other problem (not a cache yet, damaged) does not stop a rebuild that replaces it.
        }
    }

    /// Puts the finished build at `builtPath` in place of the cache, atomically, and removes the old cache.
    func swapIntoPlace(from builtPath: String) throws {
        if exists {
            // Exchange the two directories in one step, so that `path` always holds a complete cache.
            guard w2v_exchange_paths(builtPath, path) == 0 else {
                throw CacheError(.io, "cannot move the new cache into \(path): \(String(cString: strerror(errno)))")
            }
            try? FileManager.default.removeItem(atPath: builtPath)
        } else {
            guard rename(builtPath, path) == 0 else {
                throw CacheError(.io, "cannot move the new cache into \(path): \(String(cString: strerror(errno)))")
            }
        }
        syncDirectory(parent)
    }
}

/// Flushes a directory's entries (a rename) to disk.
func syncDirectory(_ path: String) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY)
    guard descriptor >= 0 else { return }
    fsync(descriptor)
    close(descriptor)
}
