import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a server on 127.0.0.1, for tests that need to behave as particular clients do (send a
/// whole body before reading, read slowly, stop reading).
public final class LoopbackConnection: Sendable {
    private let socket: Int32

    /// How many times `timeout` a connection waits: 3 in a process built with ThreadSanitizer (`scripts/race-check`),
    /// where the whole suite's servers share two cores at 5-20x their speed, so that a test's deadline measures the
    /// server and not the sanitizer; 1 otherwise. Three keeps the longest wait (20 s, 60 s) under the server's idle
    /// timeout (75 s), which tests that expect a close before it rely on.
    public static let timeoutScale: Double = dlsym(nil, "__tsan_init") != nil ? 3 : 1

    /// Connects; sends and receives give up after `timeout` seconds (times `timeoutScale`). A `receiveBuffer` (bytes)
    /// fixes what the kernel takes in for this side before the application reads, for tests of clients that never
    /// read: without it, Linux sizes that buffer by `net.ipv4.tcp_rmem`, which differs from machine to machine.
    public init(port: Int, timeout: Double = 20, receiveBuffer: Int32? = nil) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EIO) }
        let timeout = timeout * Self.timeoutScale
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer {
            // Before `connect`, so that the window the kernel offers the peer is sized by it from the start.
            setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(socket)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit {
        close(socket)
    }

    /// Sends all of `bytes`; `false` if the peer stopped taking them (timeout, reset).
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Closes this side for sending (`shutdown(SHUT_WR)`): the peer reads the end of its input, and can still answer.
    public func closeSending() {
        shutdown(socket, Int32(SHUT_WR))
    }

    /// Reads until the peer closes, `limit` bytes arrive, or the timeout passes.
    public func receive(limit: Int = 1 << 30) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let count = chunk.withUnsafeMutableBytes {
                recv(socket, $0.baseAddress, min($0.count, limit - result.count), 0)
            }
            if count <= 0 { break }
            result += chunk[0..<count]
        }
        return result
    }

    /// Whether the peer closes the connection (or resets it) before the timeout passes; what it sends meanwhile is
    /// read and dropped.
    public func peerCloses() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    /// Reads one HTTP response with a `Content-Length`: its head and that many body bytes (or what came before the
    /// peer closed or the timeout passed).
    public func receiveResponse() -> [UInt8] {
        var result: [UInt8] = []
        let separator = Array("\r\n\r\n".utf8)
        while true {
            let more = receive(limit: 1)
            if more.isEmpty { return result }
            result += more
            if result.count >= 4 && Array(result.suffix(4)) == separator { break }
        }
        let head = String(decoding: result, as: UTF8.self).lowercased()
        let length =
            head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return result + receive(limit: length)
    }

    /// A request's head and body, as bytes.
    public static func request(_ method: String, _ path: String, body: [UInt8] = [], headers: [String] = []) -> [UInt8]
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for header in headers { head += header + "\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }
}

/// Runs blocking work (a raw socket's sends and receives) on a thread of its own and waits for it: on Swift's
/// cooperative threads it would hold one of the few that an in-process server needs to answer it.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
