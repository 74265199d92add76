#if canImport(Glibc)
import Glibc
#endif

/// Opens and reads the files a user names (vectors, word lists, datasets, evaluation sets, configuration, tokens),
/// refusing before anything is read a path that names something else: a directory, a FIFO (whose `open` would wait
/// for a writer, and go on waiting through the signals a build catches), a device (`/dev/zero` never ends), a socket.
public enum RegularFile {
    /// Why a path could not be opened or read as a regular file: `PATH: no such file`, `PATH: is a FIFO (a named
    /// pipe)`, `PATH: is over 8 KB`; ``message(expecting:)`` adds what the caller expected there.
    public struct Failure: DescribedError, Equatable {
        /// `missing`: nothing at the path; `cannotRead`: not permitted, a symbolic link to nothing, or a read failed;
        /// `notARegularFile`: a directory, a FIFO, a device or a socket; `tooLarge`: over the caller's limit.
        public enum Kind: Sendable, Equatable {
            case missing, cannotRead, notARegularFile, tooLarge
        }

        public let kind: Kind
        public let path: String
        /// What is wrong, after the path: `no such file`, `is a directory`.
        public let problem: String

        public var message: String { path.isEmpty ? "the path is empty" : "\(path): \(problem)" }

        /// The message with what was expected at the path: `PATH: is a directory; expected a vectors file`.
        public func message(expecting what: String) -> String { "\(message); expected \(what)" }

        /// The same failure, its message saying what was expected at the path (``message(expecting:)``).
        public func expecting(_ what: String) -> Failure {
            Failure(kind: kind, path: path, problem: "\(problem); expected \(what)")
        }
    }

    /// Opens the regular file at `path` for reading: its descriptor, which the caller closes, and its size.
    public static func open(_ path: String) throws(Failure) -> (descriptor: Int32, size: UInt64) {
        // O_NONBLOCK, cleared once the file is known to be regular: a FIFO without a writer opens at once.
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { throw failure(opening: path, errno: errno) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw Failure(kind: .cannotRead, path: path, problem: "cannot be read (\(String(cString: strerror(code))))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw Failure(kind: .notARegularFile, path: path, problem: "is \(kind(of: status.st_mode))")
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return (descriptor, UInt64(status.st_size))
    }

    /// The most a file read whole may hold by default: an eighth of this machine's memory, since what is read
    /// whole (a dataset, an evaluation set, a word list) is then parsed and held several times over.
    public static let wholeFileLimit: Int = {
        let memory = UInt64(max(sysconf(Int32(_SC_PHYS_PAGES)), 0)) * UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 0))
        return memory == 0 ? .max : Int(clamping: memory / 8)
    }()

    /// The bytes of the regular file at `path`; a file over `limit` bytes is a ``Failure`` (read no further).
    public static func contents(of path: String, limit: Int = wholeFileLimit) throws(Failure) -> [UInt8] {
        let (descriptor, size) = try open(path)
        defer { close(descriptor) }
        return try read(descriptor, path: path, size: size, limit: limit)
    }

    /// The bytes of the regular file at `path`, or of the pipe there while a process writes to it (a shell's
    /// `<(command)`, or a FIFO whose writer has opened it), read to the end as standard input is. A pipe no process
    /// writes to is refused at once, as ``contents(of:limit:)`` refuses it, rather than waited on.
    public static func contents(ofFileOrPipe path: String, limit: Int = wholeFileLimit) throws(Failure) -> [UInt8] {
        do throws(Failure) {
            return try contents(of: path, limit: limit)
        } catch let error where error.kind == .notARegularFile {
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { throw error }
            // Opened without waiting for a writer; a first read that finds the end (rather than no data yet, or
            // data) means that no process holds the pipe's other end.
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
            guard descriptor >= 0 else { throw failure(opening: path, errno: errno) }
            defer { close(descriptor) }
            var first: UInt8 = 0
            var count: Int
            repeat { count = Glibc.read(descriptor, &first, 1) } while count < 0 && errno == EINTR
            if count == 0 {
                throw Failure(kind: .notARegularFile, path: path, problem: "is a FIFO no process writes to")
            }
            if count < 0 && errno != EAGAIN {
                throw Failure(
                    kind: .cannotRead, path: path, problem: "cannot be read (\(String(cString: strerror(errno))))")
            }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
            return try read(descriptor, path: path, size: 0, limit: limit, startingWith: count == 1 ? [first] : [])
        }
    }

    /// The bytes of standard input to its end (a pipe, a redirected file; a terminal until Ctrl-D), named
    /// `standard input` in a ``Failure``; more than `limit` bytes is one (read no further).
    public static func standardInput(limit: Int = wholeFileLimit) throws(Failure) -> [UInt8] {
        try read(STDIN_FILENO, path: "standard input", size: 0, limit: limit)
    }

    /// Reads `descriptor` to its end after the bytes `first` already read from it: `size` bytes as `fstat` told
    /// them (0 when unknown), or more, up to `limit`.
    private static func read(
        _ descriptor: Int32, path: String, size: UInt64, limit: Int, startingWith first: [UInt8] = []
    ) throws(Failure) -> [UInt8] {
        var tooLarge: Failure {
            Failure(
                kind: .tooLarge, path: path,
                problem: "is over \(describe(bytes: limit))"
                    + (limit == wholeFileLimit ? " (an eighth of this machine's memory, the most read whole)" : ""))
        }
        guard size <= UInt64(limit) else { throw tooLarge }
        // One byte over the size, so that a file that grew since `fstat` is read to its end (or to the limit); at
        // most 256 MB before a byte is read, so that a sparse file's size is not taken on trust.
        var bytes = first + [UInt8](repeating: 0, count: Int(min(size, 1 << 28)) + 1)
        var count = first.count
        while true {
            if count == bytes.count {
                guard count <= limit else { throw tooLarge }
                bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, 4096)))
            }
            let read = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress! + count, buffer.count - count)
            }
            if read < 0 {
                if errno == EINTR { continue }
                throw Failure(
                    kind: .cannotRead, path: path, problem: "cannot be read (\(String(cString: strerror(errno))))")
            }
            if read == 0 { break }
            count += read
        }
        guard count <= limit else { throw tooLarge }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// A limit in words: `9 KB`, `3 MB`, `2.9 GB`, `100 bytes`.
    static func describe(bytes: Int) -> String {
        switch bytes {
        case (1 << 30)...: "\(Double(bytes / (1 << 20) * 10 / 1024) / 10) GB"
        case (1 << 20)...: "\(bytes / (1 << 20)) MB"
        case 1024...: "\(bytes / 1024) KB"
        default: "\(bytes) bytes"
        }
    }

    /// What kind of file a mode says, for a message: `a file`, `a directory`, `a FIFO (a named pipe)`, ….
    public static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO (a named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }

    /// Why `open` failed, in words: a missing file or a link to nothing, or the kind of what cannot be opened for
    /// reading (a socket), or the system's reason.
    private static func failure(opening path: String, errno code: Int32) -> Failure {
        var status = stat()
        if code == ENOENT {
            if lstat(path, &status) == 0 {
                return Failure(kind: .cannotRead, path: path, problem: "is a symbolic link to nothing")
            }
            return Failure(kind: .missing, path: path, problem: "no such file")
        }
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            return Failure(kind: .notARegularFile, path: path, problem: "is \(kind(of: status.st_mode))")
        }
        return Failure(kind: .cannotRead, path: path, problem: "cannot be read (\(String(cString: strerror(code))))")
    }
}
