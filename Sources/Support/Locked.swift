#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a lock: ``withLock(_:)`` hands it to one thread at a time.
///
/// The project's one lock. It is a POSIX mutex rather than Swift's `Synchronization.Mutex`, which on Linux (Swift
/// 6.3) passes a contended lock from waiter to waiter through a priority-inheritance futex: every hand-over is a trip
/// through the kernel while no other thread may take the lock (8 threads adding to one array, measured: 0.8-7.6 s
/// against 0.01-0.05 s with this lock; uncontended, 7 against 14 ns), and ThreadSanitizer, which cannot see into
/// that futex, reports every contended hand-over as a race (swiftlang/swift#88440). A pthread mutex lets a running
/// thread take the lock again, and ThreadSanitizer knows its order.
public final class Locked<Value> {
    // Reached from other modules' inlined `withLock`, as Swift's `Mutex` is.
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>
    @usableFromInline let value: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "a default pthread mutex could not be made")
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the value, holding the lock until it returns. `body` must not call `withLock` on this lock.
    @inlinable
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}

// `@unchecked`: the value is reached only through `withLock`, under the mutex, and it is itself `Sendable`, so what
// `withLock` hands out may cross threads.
extension Locked: @unchecked Sendable where Value: Sendable {}
