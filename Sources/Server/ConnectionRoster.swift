import Hummingbird
import HummingbirdCore
import NIOCore
import Synchronization

/// The server's open connections and since when each has been quiet, so that a full server makes room for a new
/// connection by closing the one quiet the longest: silent connections (or ones that dribble a request's head) can
/// otherwise take every slot of ``ServerSettings/maxConnections`` and keep trainers out until they time out, and
/// those who hold them can open them again.
///
/// Quiet means holding no request: not yet sent a whole head, or answered and waiting for the next (keep-alive),
/// and quiet since the last bytes the client sent or the last answer the socket took. A connection reading a body or
/// writing an answer is busy and never closed for room. HTTP/1.1 lets a server close
/// an idle connection at any time; clients retry a request that met such a close on a reused connection (the Python
/// client does).
final class ConnectionRoster: Sendable {
    /// One connection's state, written by its ``ConnectionGuard`` on its event loop and read by the roster when
    /// room is wanted.
    final class Activity: Sendable {
        /// `NIODeadline.uptimeNanoseconds` since which the connection holds no request, `0` while it holds one.
        fileprivate let quietSince = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
        fileprivate let channel: any Channel

        fileprivate init(channel: any Channel) { self.channel = channel }
    }

    private let connections = Mutex<[ObjectIdentifier: Activity]>([:])
    /// Set while the server is full and no connection is quiet: the next one to fall quiet closes.
    private let roomWanted = Atomic<Bool>(false)
    private let closedForRoom = Atomic<Int>(0)

    init() {}

    /// Connections open now.
    var count: Int { connections.withLock { $0.count } }
    /// Quiet connections closed to make room for new ones, since the server started.
    var closedForRoomTotal: Int { closedForRoom.load(ordering: .relaxed) }

    /// Enters `channel`, quiet from now on, until ``leave(_:)``.
    func enter(_ channel: any Channel) -> Activity {
        let activity = Activity(channel: channel)
        connections.withLock { $0[ObjectIdentifier(activity)] = activity }
        return activity
    }

    func leave(_ activity: Activity) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(activity)) }
    }

    /// The connection took a request.
    func busy(_ activity: Activity) {
        activity.quietSince.store(0, ordering: .relaxed)
    }

    /// The connection holds no request from `time` on; if room is wanted, it closes now.
    func quiet(_ activity: Activity, since time: NIODeadline) {
        activity.quietSince.store(max(1, time.uptimeNanoseconds), ordering: .relaxed)
        if roomWanted.load(ordering: .relaxed), roomWanted.exchange(false, ordering: .relaxed) {
            close(activity)
        }
    }

    /// The quiet connection has shown a sign of life at `time` (bytes of a request's head): it counts as quiet from
    /// then, and is not closed for room.
    func stillQuiet(_ activity: Activity, since time: NIODeadline) {
        activity.quietSince.store(max(1, time.uptimeNanoseconds), ordering: .relaxed)
    }

    /// Closes the connection quiet the longest (of those still open: a closed one leaves the roster a moment after
    /// Hummingbird counts it closed); without one, the next to fall quiet closes.
    func makeRoom() {
        let quietest = connections.withLock { connections in
            var quietest: (activity: Activity, since: UInt64)?
            for activity in connections.values where activity.channel.isActive {
                let since = activity.quietSince.load(ordering: .relaxed)
                if since != 0, since < quietest?.since ?? .max { quietest = (activity, since) }
            }
            return quietest?.activity
        }
        if let quietest {
            close(quietest)
        } else {
            roomWanted.store(true, ordering: .relaxed)
        }
    }

    /// Connections are back within the limit: no room is wanted.
    func roomMade() {
        roomWanted.store(false, ordering: .relaxed)
    }

    private func close(_ activity: Activity) {
        closedForRoom.add(1, ordering: .relaxed)
        activity.channel.close(promise: nil)
    }
}

/// Hummingbird's gate on accepting connections: `limit` at once, and one more, which has the quietest of them
/// closed for it (``ConnectionRoster/makeRoom()``). While every connection is busy, that one is served beside them
/// and the next to fall quiet closes; more wait to be accepted.
struct ConnectionSlots: AvailableConnectionsDelegate {
    let limit: Int
    let roster: ConnectionRoster
    private var open = 0

    init(limit: Int, roster: ConnectionRoster) {
        self.limit = limit
        self.roster = roster
    }

    mutating func connectionOpened() {
        open += 1
        if open > limit { roster.makeRoom() }
    }

    mutating func connectionClosed() {
        open -= 1
        if open <= limit { roster.roomMade() }
    }

    func isAcceptingNewConnections() -> Bool { open <= limit }
}
