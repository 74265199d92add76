import Foundation
import Support
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing to the terminal: messages on stderr, binary output on stdout, and progress lines.
///
/// Messages and text output carry words, paths and lines from untrusted files: ``message(_:)`` and ``line(_:)``
/// escape their control characters (``Printable``), so nothing printed can forge a line or drive the terminal.
enum Terminal {
    /// Whether stderr is a terminal (progress is shown only then).
    static let stderrIsTerminal = isatty(STDERR_FILENO) == 1

    /// One line on stderr, control characters escaped.
    static func message(_ text: String) {
        writeStderr(Array((Printable.escape(text) + "\n").utf8))
    }

    /// Lines of text on stdout, each with its control characters escaped.
    static func lines(_ lines: [String]) throws(StandardOutputFailure) {
        var text = ""
        for line in lines {
            text += Printable.escape(line)
            text += "\n"
        }
        try writeStdout(Array(text.utf8))
    }

    /// Throws ``BinaryOutputOnTerminal`` when stdout is a terminal, as `gzip` refuses to write compressed data to
    /// one: binary output (`.npy`, framed batches) would reach it as control sequences that drive it.
    static func refuseBinaryOutputOnTerminal(_ what: String, file: String) throws {
        if isatty(STDOUT_FILENO) == 1 { throw BinaryOutputOnTerminal(output: what, file: file) }
    }

    /// Writes bytes to stdout, unbuffered by Swift's `print`. Throws when stdout does not take them all (a full
    /// disk under `> file`, a closed descriptor): the command's output is what it is run for, so it must not end
    /// with status 0 having lost it.
    static func writeStdout(_ bytes: [UInt8]) throws(StandardOutputFailure) {
        if let code = writeAll(bytes, to: STDOUT_FILENO) { throw StandardOutputFailure(code: code) }
    }

    /// Writes bytes to stderr; a failure loses the message and nothing else (there is nowhere left to say it).
    static func writeStderr(_ bytes: [UInt8]) {
        _ = writeAll(bytes, to: STDERR_FILENO)
    }

    /// Overwrites the current progress line.
    static func progress(_ text: String) {
        guard stderrIsTerminal else { return }
        writeStderr(Array(("\r\u{1B}[K" + text).utf8))
    }

    static func endProgress() {
        guard stderrIsTerminal else { return }
        writeStderr(Array("\r\u{1B}[K".utf8))
    }
}

/// Writes all of `bytes` to `descriptor`, returning the `errno` of a write that failed (Foundation's
/// `FileHandle.write` would stop the process instead). A descriptor another program left non-blocking (a shared
/// terminal, a pipe) is waited on until it takes more.
func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written < 0 && errno == EAGAIN {
                var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, -1)
                continue
            }
            if written <= 0 { return written < 0 ? errno : EIO }
            offset += written
        }
        return nil
    }
}

/// Standard output refused what a command wrote.
struct StandardOutputFailure: Error, CustomStringConvertible {
    /// The `errno` of the failed write.
    let code: Int32
    var description: String { "cannot write to standard output: \(String(cString: strerror(code)))" }
}

/// Binary output asked for while stdout is a terminal.
struct BinaryOutputOnTerminal: Error, CustomStringConvertible {
    let output: String
    /// A file name to suggest.
    let file: String
    var description: String { "not writing \(output) to a terminal: send it to a file or a pipe (`> \(file)`)" }
}

/// Set by SIGINT or SIGTERM; long commands poll it to stop cleanly.
let interruptRequested = Atomic<Bool>(false)

/// Turns the first SIGINT/SIGTERM into ``interruptRequested`` (a second one kills the process as usual), and returns
/// the poll of it that the libraries take as `isCancelled`. Their ``CacheError`` `.interrupted` ends the command
/// with its message and status 130 (`W2VCache.main`).
///
/// The handler only stores to the flag and resets the signal, both safe in a signal handler, once the flag exists.
/// A Swift global is made on its first use, under a lock: were that first use the handler's, a signal arriving while
/// this thread made the flag for its own first read would wait for that lock forever (a debug build's `sample`
/// hung so under load). So the flag is made here, before any handler can run.
@discardableResult
func installInterruptHandlers() -> @Sendable () -> Bool {
    interruptRequested.store(false, ordering: .relaxed)
    // A parent may have started us with these signals blocked (Foundation's `Process` does): unblock them.
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGINT)
    sigaddset(&signals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber) { number in
            interruptRequested.store(true, ordering: .relaxed)
            signal(number, SIG_DFL)
        }
    }
    return { interruptRequested.load(ordering: .relaxed) }
}

/// Formats counts and sizes for people.
enum Human {
    static func count(_ value: Double) -> String {
        switch value {
        case 1e9...: String(format: "%.2fG", value / 1e9)
        case 1e6...: String(format: "%.2fM", value / 1e6)
        case 1e4...: String(format: "%.1fk", value / 1e3)
        default: String(format: "%.0f", value)
        }
    }

    static func bytes(_ value: Double) -> String {
        switch value {
        case Double(1 << 30)...: String(format: "%.2f GB", value / Double(1 << 30))
        case Double(1 << 20)...: String(format: "%.1f MB", value / Double(1 << 20))
        case Double(1 << 10)...: String(format: "%.1f KB", value / Double(1 << 10))
        default: String(format: "%.0f B", value)
        }
    }

    /// `12.3s`, `4:05`; any other value (a manifest's, whatever it says) in `%g`'s form, `1e+300s` or `nans`.
    static func duration(_ seconds: Double) -> String {
        guard abs(seconds) < 1e9 else { return String(format: "%gs", seconds) }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds)
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }
}
