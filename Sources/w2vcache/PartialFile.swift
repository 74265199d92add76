import Foundation
import Support

#if canImport(Glibc)
import Glibc
#endif

/// A file written beside its place, as `.partial-PID-NAME` in the same directory, and renamed into place once whole:
/// a failure or a kill never leaves a part of it under its name, and a file replaced stays whole until then.
///
/// What a killed process leaves (SIGKILL, a crash) is removed by the next command that writes the same file
/// (``removeStale(of:isOurs:)``); an interrupt (SIGINT, SIGTERM) is caught by the commands that take long, which
/// ``discard()`` it themselves.
struct PartialFile {
    /// The file's place.
    let target: String
    /// Where it is written until it is whole.
    let path: String

    init(for target: String) {
        self.target = target
        path = Self.partialPath(of: target, pid: getpid())
    }

    /// Moves the whole file into its place (replacing what was there), or throws the reason it could not.
    func commit() throws(Failure) {
        guard rename(path, target) == 0 else {
            let code = errno
            unlink(path)
            throw Failure(description: "cannot move \(target) into place: \(String(cString: strerror(code)))")
        }
    }

    /// Removes what was written.
    func discard() {
        unlink(path)
    }

    /// Removes the partial files of `target` left by processes that no longer run, when they are regular files whose
    /// first bytes (up to 16) `isOurs` takes for the start of what a command writes there: a file of that name that
    /// w2vcache did not write is kept.
    static func removeStale(of target: String, isOurs: ([UInt8]) -> Bool) {
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        let prefix = ".partial-"
        let suffix = "-" + url.lastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
            let pidText = name.dropFirst(prefix.count).dropLast(suffix.count)
            guard !pidText.isEmpty, pidText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let pid = Int32(pidText), pid != getpid(),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            let path = partialPath(of: target, pid: pid)
            guard let start = firstBytes(of: path), isOurs(start) else { continue }
            unlink(path)
        }
    }

    /// Up to 16 bytes from the start of the regular file at `path`.
    private static func firstBytes(of path: String) -> [UInt8]? {
        guard let (descriptor, _) = try? RegularFile.open(path) else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return count >= 0 ? Array(bytes[..<count]) : nil
    }

    private static func partialPath(of target: String, pid: Int32) -> String {
        let url = URL(fileURLWithPath: target)
        return url.deletingLastPathComponent().appendingPathComponent(".partial-\(pid)-" + url.lastPathComponent).path
    }

    /// Why a file could not be put in its place.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }
}
