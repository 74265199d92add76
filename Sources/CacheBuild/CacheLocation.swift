import CLinuxFiles
import Foundation
import LevelDB
import Support
import VectorCache

/// A cache directory and the temporary siblings a build uses next to it.
///
/// A build writes `.NAME.building-PID` (and a spill file `.NAME.spill-PID`) beside the cache and swaps the finished
/// directory into place, so a reader sees either the old cache or the new one, never a half-built one.
///
/// Nothing is ever removed that w2vcache did not provably create: a cache is replaced only when it is empty or its
/// manifest says it is a w2vcache cache, and a build's leftovers only when they carry the marks builds leave
/// (a marker file in the directory, a magic header in the spill file) and their process is gone.
public struct CacheLocation: Sendable {
    /// The cache directory (a symbolic link resolved: the link's target is what gets replaced).
    public let path: String
    let parent: String
    let name: String
    /// The path with every symbolic link resolved, the directory's own and its parents': two locations are one
    /// place exactly when these are equal.
    let canonicalPath: String

    /// The file a build puts in its temporary directory until the directory is complete.
    static let buildMarker = "W2VCACHE-BUILDING"
    /// The first bytes of every spill file.
    static let spillMagic: [UInt8] = Array("W2VCACHE-SPILL1\n".utf8)

    public init(path: String) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        var information = stat()
        if lstat(trimmed, &information) == 0, information.st_mode & S_IFMT == S_IFLNK,
            let resolved = realpath(trimmed, nil)
        {
            trimmed = String(cString: resolved)
            free(resolved)
        }
        self.path = trimmed
        let url = URL(fileURLWithPath: trimmed).standardizedFileURL
        parent = url.deletingLastPathComponent().path
        name = url.lastPathComponent
        canonicalPath = Self.resolved(parent) + "/" + name
    }

    /// `path` with its symbolic links resolved, or as it is when it does not exist.
    private static func resolved(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The device and inode of ``path``, or `nil` when nothing is there.
    var fileIdentity: (device: UInt64, inode: UInt64)? {
        var information = stat()
        guard stat(path, &information) == 0 else { return nil }
        return (UInt64(information.st_dev), UInt64(information.st_ino))
    }

    var temporaryPrefix: String { ".\(name)." }

    func buildPath(pid: Int32 = getpid()) -> String {
        parent + "/" + temporaryPrefix + "building-\(pid)"
    }

    func spillPath(pid: Int32 = getpid()) -> String {
        parent + "/" + temporaryPrefix + "spill-\(pid)"
    }

    /// The lock file that admits one writer (build or prepare) per cache.
    var lockPath: String { parent + "/" + temporaryPrefix + "lock" }

    /// Whether anything is at ``path``.
    public var exists: Bool {
        var information = stat()
        return lstat(path, &information) == 0
    }

    /// Why the writer's lock file beside the cache could not be made: the directory the cache would be in is
    /// missing (w2vcache makes the cache's own directory, not its parents), is not a directory, or cannot be written.
    func cannotWriteBeside(lockFile: String, errno code: Int32) -> CacheError {
        var information = stat()
        guard stat(parent, &information) == 0 else {
            return CacheError(
                .refused, "cannot make the cache \(path): the directory \(parent) does not exist; make it first")
        }
        guard information.st_mode & S_IFMT == S_IFDIR else {
            return CacheError(
                .refused,
                "cannot make the cache \(path): \(parent) is \(RegularFile.kind(of: information.st_mode)), not a "
                    + "directory")
        }
        return CacheError(.io, "cannot create the lock file \(lockFile): \(String(cString: strerror(code)))")
    }

    /// Throws unless ``path`` may be replaced by a new cache: nothing is there, an empty directory, or a w2vcache
    /// cache (its manifest readable) that no other process has open. Touches nothing.
    /// - throws: ``CacheError`` (`.refused`, `.inUse`) naming the path, why, and what to do instead.
    public func checkReplaceable() throws {
        var information = stat()
        guard lstat(path, &information) == 0 else {
            if errno == ENOENT { return }
            throw CacheError(.io, "cannot look at \(path): \(String(cString: strerror(errno)))")
        }
        let advice = "give a new or empty directory, or an existing w2vcache cache"
        guard information.st_mode & S_IFMT == S_IFDIR else {
            let what =
                information.st_mode & S_IFMT == S_IFLNK
                ? "a symbolic link to nothing" : "\(RegularFile.kind(of: information.st_mode)), not a directory"
            throw CacheError(.refused, "\(path) is \(what); nothing was changed: \(advice)")
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw CacheError(.io, "cannot list \(path): \(error.localizedDescription)")
        }
        if entries.isEmpty { return }
        let foreign = entries.filter { !Self.isLevelDBFile($0) && $0 != Self.buildMarker }.sorted()
        guard foreign.isEmpty else {
            let listed = foreign.prefix(5).joined(separator: ", ") + (foreign.count > 5 ? ", …" : "")
            throw CacheError(
                .refused,
                "\(path) holds files that are not part of a w2vcache cache (\(listed)); nothing was changed: \(advice)")
        }
        guard entries.contains("CURRENT") else {
            throw CacheError(
                .refused, "\(path) is not a LevelDB database (no CURRENT file); nothing was changed: \(advice)")
        }
        // Opened alone: a reader (a `serve`) keeps it from being replaced under it.
        do {
            try VectorCache(path: path, storage: StorageSettings(), alone: true).close()
        } catch let error as CacheError {
            switch error.kind {
            case .incompatible:
                break  // an older format is still provably a w2vcache cache: it may be replaced
            case .inUse, .io:
                throw error
            default:
                throw CacheError(
                    .refused,
                    "\(path) is not a w2vcache cache whose manifest can be read (\(error.message)); nothing was "
                        + "changed: \(advice), or remove it yourself if it is yours"
                )
            }
        }
    }

    /// Whether `name` is a file LevelDB keeps in a database directory.
    static func isLevelDBFile(_ name: String) -> Bool {
        if ["CURRENT", "LOCK", "LOG", "LOG.old"].contains(name) { return true }
        if name.hasPrefix("MANIFEST-") { return name.dropFirst(9).allSatisfy(\.isASCIIDigit) && name.count > 9 }
        guard let dot = name.firstIndex(of: ".") else { return false }
        let number = name[..<dot]
        let suffix = name[name.index(after: dot)...]
        return !number.isEmpty && number.allSatisfy(\.isASCIIDigit) && ["ldb", "log", "sst", "dbtmp"].contains(suffix)
    }

    /// Whether `name` is a word table a build wrote but had not yet added to its LevelDB (`TableFileWriter`).
    static func isStagedTable(_ name: String) -> Bool {
        guard name.hasSuffix(".staged") else { return false }
        let number = name.dropLast(7)
        return !number.isEmpty && number.allSatisfy(\.isASCIIDigit)
    }

    /// Creates the temporary directory of a build, marked as a build's.
    func createBuildDirectory() throws -> String {
        let buildPath = buildPath()
        guard mkdir(buildPath, 0o755) == 0 else {
            throw CacheError(.io, "cannot create the temporary cache \(buildPath): \(String(cString: strerror(errno)))")
        }
        guard Self.createFile(buildPath + "/" + Self.buildMarker, contents: Array("\(getpid())\n".utf8)) else {
            rmdir(buildPath)
            throw CacheError(.io, "cannot write in the temporary cache \(buildPath)")
        }
        return buildPath
    }

    /// Removes what builds of this cache left behind when they were killed (their process no longer runs) and this
    /// process's own leftovers; only directories and files that carry a build's marks.
    /// - Returns: the paths removed.
    @discardableResult
    func removeStaleTemporaries() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return [] }
        var removed: [String] = []
        for entry in names where entry.hasPrefix(temporaryPrefix) {
            let rest = entry.dropFirst(temporaryPrefix.count)
            let kind: Substring
            let pidText: Substring
            if rest.hasPrefix("building-") {
                (kind, pidText) = ("building", rest.dropFirst(9))
            } else if rest.hasPrefix("spill-") {
                (kind, pidText) = ("spill", rest.dropFirst(6))
            } else {
                continue
            }
            guard !pidText.isEmpty, pidText.allSatisfy(\.isASCIIDigit), let pid = Int32(pidText) else { continue }
            let alive = pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM)
            guard !alive else { continue }
            let full = parent + "/" + entry
            let done = kind == "building" ? Self.removeBuildDirectory(full) : Self.removeSpillFile(full)
            if done { removed.append(full) }
        }
        return removed
    }

    /// Removes a build's directory if it is one: LevelDB files and the marker only, and the marker or a
    /// w2vcache manifest present; or empty (a build killed before it wrote its marker).
    static func removeBuildDirectory(_ path: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: path),
            entries.allSatisfy({ isLevelDBFile($0) || isStagedTable($0) || $0 == buildMarker })
        else { return false }
        if !entries.isEmpty && !entries.contains(buildMarker) {
            // A build killed right after removing its marker left a complete cache: still provably ours.
            guard (try? VectorCache(path: path).close()) != nil else { return false }
        }
        return removeCacheFiles(path, entries: entries)
    }

    /// Removes the LevelDB files of a cache directory that is provably ours, then the directory itself. The build
    /// marker goes in first (when it is not there: a cache a swap replaced, a build killed after it removed its
    /// marker) and comes out last, so that a process killed in between, or a file that cannot be removed, leaves a
    /// directory that still carries it, which the next build removes (``removeStaleTemporaries()``); without it, a
    /// cache missing some of its tables cannot be told from one w2vcache did not make, and was kept for ever.
    /// - Parameter remove: unlinks a file; `false` stops the removal there (a test's kill).
    static func removeCacheFiles(
        _ path: String, entries: [String], unlinking remove: (String) -> Bool = { unlink($0) == 0 || errno == ENOENT }
    ) -> Bool {
        let marker = path + "/" + buildMarker
        if !entries.contains(buildMarker) { _ = createFile(marker, contents: Array("\(getpid())\n".utf8)) }
        for entry in entries where isLevelDBFile(entry) || isStagedTable(entry) {
            guard remove(path + "/" + entry) else { return false }
        }
        return remove(marker) && rmdir(path) == 0
    }

    /// Removes a spill file if it is a regular file that starts with the spill magic, or holds a part of it or
    /// nothing (a build killed while it created the file).
    static func removeSpillFile(_ path: String) -> Bool {
        guard let (descriptor, _) = try? RegularFile.open(path) else { return false }
        var head = [UInt8](repeating: 0, count: spillMagic.count)
        let count = head.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        return count >= 0 && spillMagic.starts(with: head[..<count]) && unlink(path) == 0
    }

    /// Creates the file `path`, which must not exist, holding `contents`. Written in place, not through a temporary
    /// file as Foundation's `createFile` does: a process killed meanwhile leaves the file or a part of it, which
    /// cleanup recognizes, never a stray temporary file that stops a build's directory from being removed.
    static func createFile(_ path: String, contents: [UInt8]) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == contents.count
    }

    /// Puts the finished build at `builtPath` in place of the cache, atomically, and removes what was there (an
    /// empty directory or a w2vcache cache, as ``checkReplaceable()`` has just checked again, unless the caller
    /// holds the cache open alone: `CacheWriter` replacing the cache it read).
    func swapIntoPlace(from builtPath: String, holdingTheCache: Bool = false) throws {
        if !holdingTheCache { try checkReplaceable() }
        unlink(builtPath + "/" + Self.buildMarker)
        let target = parent + "/" + name
        if exists {
            // Exchange the two directories in one step, so that `path` always holds a complete cache.
            guard w2v_exchange_paths(builtPath, target) == 0 else {
                throw CacheError(.io, "cannot move the new cache into \(path): \(String(cString: strerror(errno)))")
            }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: builtPath)) ?? []
            _ = Self.removeCacheFiles(builtPath, entries: entries)
        } else {
            guard rename(builtPath, target) == 0 else {
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

extension Character {
    /// 0 to 9 only: LevelDB's file names and pids are written with these, not with other scripts' digits.
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
