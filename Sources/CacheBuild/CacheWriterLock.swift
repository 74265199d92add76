import Foundation
import VectorCache

/// The right to write one cache: held by a build or a prepare for as long as it runs, so that two writers never
/// race (one swapping in its result under the other, or writing into a directory a build is about to replace).
///
/// It is an exclusive `flock` on `.NAME.lock` beside the cache, which holds the holder's pid and command so that a
/// refused writer can say who holds it. The kernel drops the lock when its process dies, so a killed writer never
/// blocks the next one. The file is removed on release.
public final class CacheWriterLock: Sendable {
    private let descriptor: Int32
    private let path: String

    /// Takes the lock of the cache at `cachePath`.
    /// - Parameters:
    ///   - purpose: what the holder does, shown to a refused writer (`w2vcache build`).
    ///   - wait: wait for the holder to finish instead of failing; `onWait` is called once before waiting, and
    ///     `isCancelled` polled while it waits.
    /// - throws: ``CacheError/Kind/busy`` naming the holder's pid and purpose; ``CacheError/Kind/interrupted`` when
    ///   `isCancelled` said so while waiting.
    public init(
        cachePath: String, purpose: String, wait: Bool = false, onWait: (String) -> Void = { _ in },
        isCancelled: () -> Bool = { false }
    ) throws {
        let path = CacheLocation(path: cachePath).lockPath
        self.path = path
        var announced = false
        while true {
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                let code = errno
                throw CacheLocation(path: cachePath).cannotWriteBeside(lockFile: path, errno: code)
            }
            // Polled rather than a blocking `flock` while waiting: the signals a caller turns into `isCancelled`
            // (SIGINT, SIGTERM) restart a blocking `flock`, so the wait outlasted the holder's whole run.
            while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                let failure = errno
                guard failure == EWOULDBLOCK || failure == EINTR else {
                    close(descriptor)
                    throw CacheError(.io, "cannot lock \(path): \(String(cString: strerror(failure)))")
                }
                guard wait else {
                    defer { close(descriptor) }
                    throw CacheError(
                        .busy,
                        "the cache \(cachePath) is being written by \(Self.holder(descriptor)); wait for it to finish "
                            + "(or pass --wait)")
                }
                if !announced {
                    onWait("waiting for \(Self.holder(descriptor)) to finish writing \(cachePath)")
                    announced = true
                }
                if isCancelled() {
                    defer { close(descriptor) }
                    throw CacheError(
                        .interrupted,
                        "interrupted while waiting for \(Self.holder(descriptor)) to finish writing \(cachePath); "
                            + "nothing was written")
                }
                usleep(Self.pollMicroseconds)
            }
            // The previous holder removes the file when it releases: if the path now names another file (or none),
            // this lock is on a removed file and means nothing. Try again on the current one.
            var opened = stat(), named = stat()
            if fstat(descriptor, &opened) == 0, stat(path, &named) == 0, opened.st_ino == named.st_ino,
                opened.st_dev == named.st_dev
            {
                let note = Array("pid \(getpid()) (\(purpose))\n".utf8)
                ftruncate(descriptor, 0)
                _ = note.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
                self.descriptor = descriptor
                return
            }
            close(descriptor)
        }
    }

    /// How often a waiting writer tries the lock again.
    static let pollMicroseconds: useconds_t = 20_000

    deinit {
        unlink(path)
        close(descriptor)
    }

    /// Who holds the lock, as its file says ("pid 1234 (w2vcache build)"), or "another process".
    private static func holder(_ descriptor: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 200)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "another process" }
        let text = String(decoding: bytes[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "another process" : text
    }
}
