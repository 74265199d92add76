import Foundation
import HTTPTypes
import Synchronization

/// The memory of answers made and not yet taken by their clients, all connections together: batches, epoch chunks and
/// lists of vectors, bounded by ``ServerSettings/maxAnswerBytes``. Each answer is bounded on its own (an epoch stream
/// holds two chunks at most, a client that stops reading is cut after the write timeout); this bounds their sum, so
/// that clients that ask for batches and do not read them cannot take the machine's memory (512 connections asking
/// for a 14.7 MB batch each held 7.5 GB before).
///
/// An answer reserves its bytes before it is made (``reserve(_:)``, a 503 with `Retry-After` when they do not fit)
/// and keeps the reservation until its body is handed to the connection; from then until the socket takes the bytes,
/// ``ConnectionGuard`` counts every body written (``hold(_:)`` and ``release(_:)``), a shared buffer's too (the
/// embedding matrix: counted for each connection it is written to, though it exists once).
final class AnswerMemory: Sendable {
    /// The bytes answers may hold. One answer larger than this is made when nothing else is held.
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes reserved, or written and not yet taken by the sockets.
    var bytes: Int { used.load(ordering: .relaxed) }

    /// Reserves `bytes` for an answer about to be made, or throws a 503 when they do not fit beside what is held.
    func reserve(_ bytes: Int) throws -> Reservation {
        guard let reservation = reserveIfFree(bytes) else { throw full(asking: bytes) }
        return reservation
    }

    /// Reserves `bytes` for the next chunk of an answer already being sent, waiting for them for at most `timeout`
    /// (then a 503, which cuts the answer).
    func reserve(_ bytes: Int, waitingUpTo timeout: Duration) async throws -> Reservation {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(1)
        while true {
            if let reservation = reserveIfFree(bytes) { return reservation }
            guard clock.now < deadline else { throw full(asking: bytes) }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Counts bytes written to a connection until ``release(_:)``.
    func hold(_ bytes: Int) {
        used.wrappingAdd(bytes, ordering: .relaxed)
    }

    func release(_ bytes: Int) {
        used.wrappingSubtract(bytes, ordering: .relaxed)
    }

    private func reserveIfFree(_ bytes: Int) -> Reservation? {
        var current = used.load(ordering: .relaxed)
        while current == 0 || bytes <= limit - current {
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return Reservation(memory: self, bytes: bytes) }
            current = original
        }
        return nil
    }

    private func full(asking bytes: Int) -> APIError {
        APIError(
            .serviceUnavailable,
            "answers not yet taken by their clients hold \(megabytes(self.bytes)) MB and this one needs "
                + "\(megabytes(bytes)) MB more, over the server's limit of \(megabytes(limit)) MB "
                + "(server.max_answer_mb); retry shortly",
            headers: [.retryAfter: "1"])
    }

    private func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f", Double(bytes) / Double(1 << 20))
    }

    /// Bytes reserved for one answer, given back by ``release()`` or when the reservation is dropped.
    final class Reservation: Sendable {
        private let memory: AnswerMemory
        private let bytes: Int
        private let released = Atomic<Bool>(false)

        fileprivate init(memory: AnswerMemory, bytes: Int) {
            self.memory = memory
            self.bytes = bytes
        }

        func release() {
            if !released.exchange(true, ordering: .relaxed) { memory.release(bytes) }
        }

        deinit { release() }
    }
}
