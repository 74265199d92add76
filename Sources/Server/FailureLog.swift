import Logging
import Support

/// The lines a server logs about failed requests, bounded in rate (``ServerSettings/logFailuresPerSecond``), so that
/// a client sending bad requests as fast as it can cannot fill the log's disk: 16 connections asking for an unknown
/// path wrote 1.9 MB of warnings a second before, a long path 3.4 MB. The server keeps two: the answered failures
/// (4xx, 503) and the unforeseen errors (500), so that a flood of the first never hides one of the second.
///
/// A token bucket: up to ten seconds' worth of lines at once, then `perSecond` lines a second. A line held back is
/// counted; the next line written is preceded by one that says how many were held back since when (or, if none
/// comes, ``logHeldBack(level:to:at:)`` says it), and `/metrics` counts them all
/// (`w2vcache_log_lines_held_back_total`). Every request is counted in `/metrics`
/// by route and status whether or not its line is written.
final class FailureLog: Sendable {
    private struct Bucket {
        /// Lines that may be written now, fractions included.
        var lines: Double
        var lastFill: ContinuousClock.Instant
        /// Lines held back since the last one written, and when the first of them was.
        var heldBack = 0
        var heldBackSince: ContinuousClock.Instant?
        var heldBackTotal = 0

        /// The lines held back since the last one written and the seconds since the first of them; counted afresh
        /// from now.
        mutating func takeHeldBack(now: ContinuousClock.Instant) -> (count: Int, seconds: Double) {
            defer { (heldBack, heldBackSince) = (0, nil) }
            return (heldBack, heldBackSince.map { max(0, (now - $0) / .seconds(1)) } ?? 0)
        }
    }

    /// What ``admit(at:)`` decides about one line.
    enum Admission: Equatable {
        /// Write the line, after a line about `heldBack` lines held back over the `seconds` before it, if any.
        case write(heldBack: Int, seconds: Double)
        case holdBack
    }

    /// Lines a second once the burst is spent; `0` writes none.
    let perSecond: Int
    /// What the lines are about, as the line about those held back names them: "failed requests".
    let subject: String
    private let bucket: Locked<Bucket>

    init(perSecond: Int, subject: String, now: ContinuousClock.Instant = .now) {
        self.perSecond = perSecond
        self.subject = subject
        bucket = Locked(Bucket(lines: Double(perSecond) * Self.burstSeconds, lastFill: now))
    }

    /// Seconds' worth of lines that may be written at once.
    static let burstSeconds = 10.0

    /// Lines held back since the server started.
    var heldBackTotal: Int { bucket.withLock { $0.heldBackTotal } }

    /// Whether a line may be written `at` this moment; a line held back is counted.
    func admit(at now: ContinuousClock.Instant = .now) -> Admission {
        let rate = Double(perSecond)
        return bucket.withLock { bucket in
            let elapsed = max(0, (now - bucket.lastFill) / .seconds(1))
            bucket.lines = min(rate * Self.burstSeconds, bucket.lines + elapsed * rate)
            bucket.lastFill = now
            guard bucket.lines >= 1 else {
                if bucket.heldBack == 0 { bucket.heldBackSince = now }
                bucket.heldBack += 1
                bucket.heldBackTotal += 1
                return .holdBack
            }
            bucket.lines -= 1
            let (heldBack, seconds) = bucket.takeHeldBack(now: now)
            return .write(heldBack: heldBack, seconds: seconds)
        }
    }

    /// Logs `line` at `level` through `logger` if the bucket admits it, after a line about those held back.
    func log(_ line: @autoclosure () -> String, level: Logger.Level, to logger: Logger) {
        guard logger.logLevel <= level, case .write(let heldBack, let seconds) = admit() else { return }
        logHeldBack(heldBack, seconds: seconds, level: level, to: logger)
        logger.log(level: level, "\(line())")
    }

    /// Logs how many lines were held back since the last one written, if any, as the next line written would: so
    /// that a flood that stopped is told (the server asks every ten seconds, and as it stops).
    func logHeldBack(level: Logger.Level, to logger: Logger, at now: ContinuousClock.Instant = .now) {
        guard logger.logLevel <= level else { return }
        let (heldBack, seconds) = bucket.withLock { $0.takeHeldBack(now: now) }
        logHeldBack(heldBack, seconds: seconds, level: level, to: logger)
    }

    private func logHeldBack(_ heldBack: Int, seconds: Double, level: Logger.Level, to logger: Logger) {
        guard heldBack > 0 else { return }
        let seconds = Int(seconds.rounded(.up))
        let lines = "\(Plural.count(heldBack, "line")) about \(subject) \(heldBack == 1 ? "was" : "were")"
        logger.log(
            level: level, "\(lines) not logged in the last \(seconds) s (server.log_failures_per_s: \(perSecond))")
    }
}
