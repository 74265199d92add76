import Hummingbird
import HummingbirdCore
import NIOCore
import Support
import Synchronization

/// The server's open connections and since when each may be closed to make room, so that a full server lets a new
/// connection in by closing the one that has been closable the longest: silent connections (or ones that send a
/// request's head or body a byte at a time) can otherwise take every slot of ``ServerSettings/maxConnections`` and
/// keep trainers out, and those who hold them can open them again.
///
/// A connection is closable while it is quiet, holding no request: it has not yet sent a whole head, or it was answered
/// and waits for the next request (keep-alive); it counts as quiet since the last bytes its client sent or the last
/// answer the socket took, and a new connection only after ``ServerSettings/newConnectionGrace``, the time its client
/// takes to send a request (else, in a flood of new connections, one could be closed before its request came). It is
/// closable, too, once its client has been slow for ``ServerSettings/slowClientTime``: a request's body still coming
/// (a whole body of the default largest size takes a fraction of that on any network a trainer uses), or answers it
/// has taken none of (the lane's single vectors, or a slow read, as `slowhttptest -X` makes: an epoch read a byte at a
/// time). A connection whose request is being answered, or whose answers its client is taking, is never closed for
/// room. HTTP/1.1 lets a server close an idle connection at any time; clients retry a request that met such a close
/// on a reused connection, and the Python client resumes an epoch cut short at the first batch it has not had.
final class ConnectionRoster: Sendable {
    /// One connection's state, written by its ``ConnectionGuard`` on its event loop and read by the roster when
    /// room is wanted.
    final class Activity: Sendable {
        /// The `NIODeadline.uptimeNanoseconds` from which the connection may be closed for room; `0` while it may
        /// not.
        fileprivate let closableSince: Atomic<UInt64>
        fileprivate let channel: any Channel

        fileprivate init(channel: any Channel, closableAt time: NIODeadline) {
            self.channel = channel
            closableSince = Atomic(max(1, time.uptimeNanoseconds))
        }
    }

    private let connections = Locked<[ObjectIdentifier: Activity]>([:])
    /// Set while the server is full and no connection is closable: the next to fall quiet closes, and the roster
    /// looks again every ``recheck`` for one that has become closable.
    private let roomWanted = Atomic<Bool>(false)
    static let recheck = TimeAmount.milliseconds(100)
    private let closedForRoom = Atomic<Int>(0)

    init() {}

    /// Connections open now, but those being closed for room.
    var count: Int { connections.withLock { $0.count } }
    /// Connections closed to make room for new ones, since the server started.
    var closedForRoomTotal: Int { closedForRoom.load(ordering: .relaxed) }

    /// Enters `channel`, quiet from now on and closable after `grace` (the time a client that has just connected
    /// takes to send its request), until ``leave(_:)``.
    func enter(_ channel: any Channel, grace: Duration) -> Activity {
        let activity = Activity(channel: channel, closableAt: .now() + TimeAmount(grace))
        connections.withLock { $0[ObjectIdentifier(activity)] = activity }
        return activity
    }

    func leave(_ activity: Activity) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(activity)) }
    }

    /// The connection holds a request; `closableAt` (a body still coming by then) makes it closable from then on.
    func holding(_ activity: Activity, closableAt time: NIODeadline? = nil) {
        activity.closableSince.store(time.map { max(1, $0.uptimeNanoseconds) } ?? 0, ordering: .relaxed)
    }

    /// The connection holds no request from `time` on; if room is wanted, it closes now.
    func quiet(_ activity: Activity, since time: NIODeadline) {
        activity.closableSince.store(max(1, time.uptimeNanoseconds), ordering: .relaxed)
        if roomWanted.load(ordering: .relaxed), roomWanted.exchange(false, ordering: .relaxed) {
            close(activity)
        }
    }

    /// The quiet connection has shown a sign of life at `time` (bytes of a request's head): it counts as quiet from
    /// then, or from the end of its grace as a new connection.
    func stillQuiet(_ activity: Activity, since time: NIODeadline) {
        activity.closableSince.max(time.uptimeNanoseconds, ordering: .relaxed)
    }

    /// Closes the connection closable the longest (of those still open: a closed one leaves the roster a moment
    /// after Hummingbird counts it closed). Without one, the next to fall quiet closes, and the roster looks again
    /// every ``recheck`` on `loop` while room is wanted (a new connection's grace, or a body's time, runs out; the
    /// connections just accepted may not even have entered the roster yet).
    func makeRoom(recheckingOn loop: any EventLoop) {
        let now = NIODeadline.now().uptimeNanoseconds
        let closable = connections.withLock { connections in
            var closable: (activity: Activity, since: UInt64)?
            for activity in connections.values where activity.channel.isActive {
                let since = activity.closableSince.load(ordering: .relaxed)
                if since != 0, since <= now, since < closable?.since ?? .max { closable = (activity, since) }
            }
            // Out of the roster now, so that the next call, before the close has run, chooses another.
            if let closable { connections.removeValue(forKey: ObjectIdentifier(closable.activity)) }
            return closable?.activity
        }
        if let closable {
            close(closable)
            return
        }
        roomWanted.store(true, ordering: .relaxed)
        loop.scheduleTask(in: Self.recheck) { [self] in
            if roomWanted.exchange(false, ordering: .relaxed) { makeRoom(recheckingOn: loop) }
        }
    }

    /// Connections are back within the limit: no room is wanted.
    func roomMade() {
        roomWanted.store(false, ordering: .relaxed)
    }

    /// Closes `activity`'s connection in a later turn of its event loop: never inside the gate's own count of an
    /// opened or closed connection, which the close would otherwise reenter.
    private func close(_ activity: Activity) {
        closedForRoom.add(1, ordering: .relaxed)
        let channel = activity.channel
        channel.eventLoop.execute { channel.close(promise: nil) }
    }
}

/// Hummingbird's gate on accepting connections: `limit` at once, and one more (or the few a single read of the
/// listening socket accepts), each of which has the connection closable the longest closed for it
/// (``ConnectionRoster/makeRoom()``). While none is closable, they are served beside the others and the next to become
/// closable closes; more wait to be accepted.
struct ConnectionSlots: AvailableConnectionsDelegate {
    let limit: Int
    let roster: ConnectionRoster
    /// Where the roster looks again for a closable connection while none is.
    let recheckLoop: any EventLoop
    private var open = 0

    init(limit: Int, roster: ConnectionRoster, recheckLoop: any EventLoop) {
        self.limit = limit
        self.roster = roster
        self.recheckLoop = recheckLoop
    }

    mutating func connectionOpened() {
        open += 1
        if open > limit { roster.makeRoom(recheckingOn: recheckLoop) }
    }

    mutating func connectionClosed() {
        open -= 1
        if open > limit {
            roster.makeRoom(recheckingOn: recheckLoop)
        } else {
            roster.roomMade()
        }
    }

    func isAcceptingNewConnections() -> Bool { open <= limit }
}
