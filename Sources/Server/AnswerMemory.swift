import CMalloc
import Dispatch
import Foundation
import HTTPTypes
import NIOCore
import Support
import Synchronization

/// The memory of answers made and not yet taken by their clients, all connections together: batches, epoch chunks and
/// lists of vectors, bounded by ``ServerSettings/maxAnswerBytes``. Each answer is bounded on its own (an epoch stream
/// holds two chunks at most, a client that stops reading is cut after the write timeout); this bounds their sum, so
/// that clients that ask for batches and do not read them cannot take the machine's memory (200 such clients took a
/// server from 130 MB to 3.3 GB before).
///
/// An answer reserves its bytes before it is made (``reserve(_:for:)``, a 503 with `Retry-After` when they do not
/// fit beside what is held; a 413 for an answer larger than the limit itself, or than one buffer holds) and hands
/// the reservation to its connection's ``ConnectionGuard`` as it writes the body (``Reservation/handOver()``), which
/// releases it once the socket has taken the bytes, or the connection closes.
///
/// Once answers hold nothing again after taking 64 MB or more, the heap's free pages go back to the system
/// (`malloc_trim`, at most once every 5 s, off the event loops): glibc keeps what a burst of answers freed for later
/// allocations (a server kept 1.5 GB after 200 clients left their batches unread, 460 MB trimmed), memory that a
/// machine shared with trainers wants back.
package final class AnswerMemory: Sendable {
    /// The bytes answers may hold, all together and each.
    let limit: Int
    private let used = Atomic<Int>(0)
    /// Bytes answers took since the heap was last trimmed, the trims so far, and when the last one was.
    private let takenSinceTrim = Atomic<Int>(0)
    private let trimCount = Atomic<Int>(0)
    private let lastTrim = Locked<ContinuousClock.Instant?>(nil)
    static let trimAfter = 64 << 20

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes reserved by answers and not yet taken by their clients.
    var bytes: Int { used.load(ordering: .relaxed) }

    /// Times the heap's free pages were given back.
    var trims: Int { trimCount.load(ordering: .relaxed) }

    /// The most bytes one answer can be: NIO's `ByteBuffer` holds less than 4 GiB (a larger one traps).
    package static let largestAnswer = Int(UInt32.max)

    /// Reserves `bytes` for an answer about to be made on `channel`, or throws a 503 when they do not fit beside
    /// what is held, a 413 when they could never fit.
    func reserve(_ bytes: Int, for channel: any Channel) throws -> Reservation {
        try refuseIfTooLarge(bytes)
        guard let reservation = reserveIfFree(bytes, for: channel) else { throw full(asking: bytes) }
        return reservation
    }

    /// Answers of at most this many bytes (one vector of up to 16,000 dimensions) are not reserved: a connection
    /// holds at most one such answer beyond what its socket has taken (the router answers a connection's requests
    /// one at a time, ``VectorLane`` writes only while the socket takes what it was given).
    static let unreservedBytes = 64 << 10

    /// Reserves `bytes` as ``reserve(_:for:)`` does when they are more than ``unreservedBytes``; `nil` otherwise.
    func reserveUnlessSmall(_ bytes: Int, for channel: any Channel) throws -> Reservation? {
        bytes > Self.unreservedBytes ? try reserve(bytes, for: channel) : nil
    }

    /// Reserves `bytes` for the next chunk of an answer already being sent, waiting for them for at most `timeout`
    /// (then a 503, which cuts the answer).
    func reserve(_ bytes: Int, for channel: any Channel, waitingUpTo timeout: Duration) async throws -> Reservation {
        try refuseIfTooLarge(bytes)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(1)
        while true {
            if let reservation = reserveIfFree(bytes, for: channel) { return reservation }
            guard clock.now < deadline else { throw full(asking: bytes) }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    private func reserveIfFree(_ bytes: Int, for channel: any Channel) -> Reservation? {
        var current = used.load(ordering: .relaxed)
        while bytes <= limit - current {
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged {
                takenSinceTrim.wrappingAdd(bytes, ordering: .relaxed)
                return Reservation(memory: self, bytes: bytes, channel: channel)
            }
            current = original
        }
        return nil
    }

    private func release(_ bytes: Int) {
        if used.wrappingSubtract(bytes, ordering: .relaxed).newValue == 0 { trimIfWorthIt() }
    }

    private func trimIfWorthIt() {
        guard takenSinceTrim.load(ordering: .relaxed) >= Self.trimAfter else { return }
        let now = ContinuousClock.now
        let due = lastTrim.withLock { last in
            if let last, now - last < .seconds(5) { return false }
            last = now
            return true
        }
        guard due else { return }
        takenSinceTrim.store(0, ordering: .relaxed)
        DispatchQueue.global(qos: .utility).async { [self] in
            malloc_trim(0)
            trimCount.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// A 413 for an answer that no wait would let through: more than the limit, or than one buffer holds.
    func refuseIfTooLarge(_ bytes: Int) throws {
        if let reason = Self.tooLarge(bytes, limit: limit) {
            throw APIError(.contentTooLarge, "this answer \(reason); ask for less at a time")
        }
    }

    /// Why an answer of `bytes` can never be sent under a limit of `limit` bytes (`server.max_answer_mb`), or `nil`
    /// when it can: "would be 1.2 MB, more than the 1.0 MB that answers may hold (server.max_answer_mb)".
    package static func tooLarge(_ bytes: Int, limit: Int) -> String? {
        if bytes > largestAnswer {
            "would be \(megabytes(bytes)) MB, more than one answer can be (\(megabytes(largestAnswer)) MB)"
        } else if bytes > limit {
            "would be \(megabytes(bytes)) MB, more than the \(megabytes(limit)) MB that answers may hold "
                + "(server.max_answer_mb)"
        } else {
            nil
        }
    }

    private func full(asking bytes: Int) -> APIError {
        APIError(
            .serviceUnavailable,
            "answers not yet taken by their clients hold \(megabytes(self.bytes)) MB and this one needs "
                + "\(megabytes(bytes)) MB more, over the server's limit of \(megabytes(limit)) MB "
                + "(server.max_answer_mb); retry shortly",
            headers: [.retryAfter: "1"])
    }

    /// Bytes reserved for one answer on one connection: released once the socket has taken the body it was handed
    /// over with, or when the reservation is dropped (an answer that failed, a connection that closed).
    final class Reservation: Sendable {
        private let memory: AnswerMemory
        private let bytes: Int
        private let channel: any Channel
        private let released = Atomic<Bool>(false)

        fileprivate init(memory: AnswerMemory, bytes: Int, channel: any Channel) {
            self.memory = memory
            self.bytes = bytes
            self.channel = channel
        }

        /// Gives the reservation to the connection's ``ConnectionGuard``, which releases it when the next body
        /// written there has been taken by the socket. Call it just before writing that body: the guard hears of it
        /// first, as both reach the event loop in this order.
        func handOver() {
            let channel = channel
            if channel.eventLoop.inEventLoop {
                adopt(on: channel)
            } else {
                channel.eventLoop.execute { self.adopt(on: channel) }
            }
        }

        private func adopt(on channel: any Channel) {
            // Without the guard (the connection is closing), the reservation is released as the closure ends.
            (try? channel.pipeline.syncOperations.handler(type: ConnectionGuard.self))?.adopt(self)
        }

        func release() {
            if !released.exchange(true, ordering: .relaxed) { memory.release(bytes) }
        }

        deinit { release() }
    }
}

/// `bytes` in MB with one decimal, as the server's 503s for memory say them.
func megabytes(_ bytes: Int) -> String {
    String(format: "%.1f", Double(bytes) / Double(1 << 20))
}
