import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One per connection: the timeouts that keep a slow or silent client from holding the server, as nginx's
/// `client_header_timeout`, `client_body_timeout`, `keepalive_timeout` and `send_timeout` do, and `100 Continue`
/// for a client that waits for it before sending a body.
///
/// - Before its first request's head, a connection has ``ServerSettings/headerTimeout``; between requests,
///   ``ServerSettings/idleTimeout`` (a partial next head included).
/// - A request's body must be whole within ``ServerSettings/bodyTimeout`` of its head: one sent a byte at a time
///   would otherwise hold the connection for as long as its sender likes.
/// - While a response is written, a write the client does not take for ``ServerSettings/writeTimeout`` (it stopped
///   reading) closes the connection, and with it the memory its response held.
///
/// Whatever times out is closed; nothing is answered, as nginx does.
///
/// A response that says `Connection: close` (a 413 after its body was drained, a 400 for a request that is not HTTP)
/// is followed by the close it promised once the socket has taken it, not by the idle timeout. A response that goes
/// out before its request's body has ended (a route that does not read bodies: a 405, a `GET` with a body) says
/// `Connection: close` too, and the rest of the body is read and discarded, as clients that send it all before
/// reading need, for at most ``ServerSettings/drainTime``: an endless body would otherwise be read for ever.
///
/// Requests a ``VectorLane`` answers ahead of the codec count as served requests here (``requestsAnsweredAhead(_:)``).
/// A body's ``AnswerMemory`` reservation, handed over before the body is written (``adopt(_:)``), is released once
/// the socket has taken the body.
///
/// The guard tells the server's ``ConnectionRoster`` when its connection takes a request, when the request's body has
/// come, when answers wait for the client and when it takes them, and when it holds none again (its answers taken by
/// the socket), so that a full server closes a quiet connection, or one whose client is slow to send its body or take
/// its answers, and never one whose request is being answered while its client keeps up.
final class ConnectionGuard: HTTPPartsHandler, RemovableChannelHandler {
    private let settings: ServerSettings
    private let roster: ConnectionRoster
    /// This connection in the roster, from the handler's adding to its removal.
    private(set) var activity: ConnectionRoster.Activity?
    /// Reservations handed over for the next bodies written, in order.
    private var reservations: [AnswerMemory.Reservation] = []
    /// The read deadline now: for a head, or for the body's end (`nil` while a request is answered).
    private var readDeadline: NIODeadline?
    /// The timer that checks ``readDeadline``, and when it fires: moving the deadline later leaves it armed.
    private var readTimer: (timer: Scheduled<Void>, at: NIODeadline)?
    private var context: ChannelHandlerContext?
    private var writeTimer: Scheduled<Void>?
    /// Writes handed to the socket and not yet taken by it.
    private var pendingWrites = 0
    private var lastWriteProgress = NIODeadline.now()
    private var servedRequests = 0
    /// The response being written says `Connection: close`.
    private var closesAfterResponse = false
    /// That response went out before its request's body ended, and this guard added the `Connection: close`.
    private var drainsBeforeClose = false
    /// Request ends read and response ends written here: answer `n` is for request `n` (in order, as HTTP/1.1
    /// pipelines them), whose body has ended if more than `n` ends have been read.
    private var requestEnds = 0
    private var responseEnds = 0
    /// Request heads read here: a request is held while more have been read than answered.
    private var requestHeads = 0
    /// While a request's body comes: when it becomes slow (``ServerSettings/slowClientTime`` after its head).
    private var bodySlowAt: NIODeadline?
    /// While the ``VectorLane`` ahead holds a request of its own: when it has held it too long, as a slow body.
    private var laneSlowAt: NIODeadline?
    /// The response has been written and the connection closes once its request's body ends, or at this timer.
    private var drainTimer: Scheduled<Void>?

    init(settings: ServerSettings, roster: ConnectionRoster) {
        self.settings = settings
        self.roster = roster
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        activity = roster.enter(context.channel, grace: settings.newConnectionGrace)
        if context.channel.isActive { awaitHead(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        awaitHead(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if let activity { roster.leave(activity) }
        activity = nil
        readTimer?.timer.cancel()
        writeTimer?.cancel()
        drainTimer?.cancel()
        reservations.removeAll()
    }

    /// Keeps `reservation` until the socket has taken the next body written.
    func adopt(_ reservation: AnswerMemory.Reservation) {
        reservations.append(reservation)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            requestHeads += 1
            bodySlowAt = .now() + TimeAmount(settings.slowClientTime)
            tellRoster(quietSince: .now())
            armRead(context, settings.bodyTimeout)
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                let announced = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                // Over the limit, the route answers 413 at once and the client never sends the body.
                if announced <= settings.maxBodyBytes {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            }
        case .body:
            break
        case .end:
            requestEnds += 1
            readDeadline = nil
            bodySlowAt = nil
            tellRoster(quietSince: .now())
            if drainTimer != nil {
                context.fireChannelRead(data)
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var data = data
        let part = unwrapOutboundIn(data)
        let isEnd = if case .end = part { true } else { false }
        if case .head(var response) = part, response.status.kind != .informational {
            closesAfterResponse = Self.saysClose(response.headerFields[.connection])
            drainsBeforeClose = !requestHasEnded && !closesAfterResponse
            if drainsBeforeClose {
                response.headerFields[.connection] = "close"
                closesAfterResponse = true
                data = wrapOutboundOut(.head(response))
            }
        }
        var reservation: AnswerMemory.Reservation?
        if case .body = part, !reservations.isEmpty { reservation = reservations.removeFirst() }
        let promise = promise ?? context.eventLoop.makePromise()
        pendingWrites += 1
        if pendingWrites == 1 {
            lastWriteProgress = .now()
            watchWrites(context)
            tellRoster(quietSince: lastWriteProgress)
        }
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            pendingWrites -= 1
            lastWriteProgress = .now()
            reservation?.release()
            tellRoster(quietSince: lastWriteProgress)
        }
        context.write(data, promise: promise)
        guard isEnd else { return }
        servedRequests += 1
        responseEnds += 1
        if closesAfterResponse {
            promise.futureResult.assumeIsolated().whenComplete { [self] _ in closeOnceDrained() }
            context.flush()
        } else {
            awaitHead(context)
        }
    }

    /// Closes the connection now, or for a body the route did not read, when the body ends or
    /// ``ServerSettings/drainTime`` from now (a route that says `Connection: close` itself drained what it meant to).
    private func closeOnceDrained() {
        guard let context else { return }  // removed: the connection has closed
        guard drainsBeforeClose && requestEnds < responseEnds else {
            context.close(promise: nil)
            return
        }
        drainTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(settings.drainTime)) {
            context.close(promise: nil)
        }
    }

    /// Whether the request now answered has been read to its end.
    private var requestHasEnded: Bool { requestEnds > responseEnds }

    /// Whether a `Connection` field's tokens include `close`.
    static func saysClose(_ field: String?) -> Bool {
        field?.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "close" } ?? false
    }

    /// `count` requests were answered ahead of the codec: the next head has the idle timeout from now.
    func requestsAnsweredAhead(_ count: Int) {
        servedRequests += count
        if let context { awaitHead(context) }
        tellRoster(quietSince: .now())
    }

    /// The lane ahead read bytes from the client: a connection holding no request is quiet from now on, so that one
    /// sending a head slowly is not taken for a silent one. (Bytes sent by a client that leaves its answers untaken
    /// do not make up for it.)
    func bytesArrived() {
        guard requestHeads <= responseEnds, laneSlowAt == nil, pendingWrites == 0, let activity else { return }
        roster.stillQuiet(activity, since: .now())
    }

    /// The lane ahead holds a request of its own (`true`: one whose body is still coming, or answers the client has
    /// not taken), or holds none now.
    func laneHolds(_ holds: Bool) {
        laneSlowAt = holds ? .now() + TimeAmount(settings.slowClientTime) : nil
        tellRoster(quietSince: .now())
    }

    /// Tells the roster what the connection holds: nothing (quiet since `time`), or a request or answers, closable
    /// for room from the earliest of the times its client became slow: a body still coming (``bodySlowAt``), the
    /// lane's request held (``laneSlowAt``), or answers waiting since the socket last took one for
    /// ``ServerSettings/slowClientTime``; never while a request is answered and its client keeps up.
    private func tellRoster(quietSince time: NIODeadline) {
        guard let activity else { return }
        let answersSlowAt = pendingWrites > 0 ? lastWriteProgress + TimeAmount(settings.slowClientTime) : nil
        if requestHeads <= responseEnds, laneSlowAt == nil, answersSlowAt == nil {
            roster.quiet(activity, since: time)
        } else {
            roster.holding(activity, closableAt: Self.earliest(Self.earliest(bodySlowAt, laneSlowAt), answersSlowAt))
        }
    }

    private static func earliest(_ first: NIODeadline?, _ second: NIODeadline?) -> NIODeadline? {
        guard let first, let second else { return first ?? second }
        return min(first, second)
    }

    /// Arms the deadline for the next request's head.
    private func awaitHead(_ context: ChannelHandlerContext) {
        armRead(context, servedRequests == 0 ? settings.headerTimeout : settings.idleTimeout)
    }

    /// Sets the read deadline `timeout` from now; the timer is only rescheduled when it would fire too late.
    private func armRead(_ context: ChannelHandlerContext, _ timeout: Duration) {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        readDeadline = deadline
        if let readTimer, readTimer.at <= deadline { return }
        scheduleReadCheck(context, at: deadline)
    }

    private func scheduleReadCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        readTimer?.timer.cancel()
        let timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            readTimer = nil
            guard let readDeadline else { return }
            if NIODeadline.now() >= readDeadline {
                context.close(promise: nil)
            } else {
                scheduleReadCheck(context, at: readDeadline)
            }
        }
        readTimer = (timer, deadline)
    }

    /// Closes the connection when writes have waited for the client longer than the write timeout.
    private func watchWrites(_ context: ChannelHandlerContext) {
        writeTimer?.cancel()
        let deadline = lastWriteProgress + TimeAmount(settings.writeTimeout)
        writeTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            writeTimer = nil
            guard pendingWrites > 0 else { return }
            if NIODeadline.now() >= lastWriteProgress + TimeAmount(settings.writeTimeout) {
                context.close(promise: nil)
            } else {
                watchWrites(context)
            }
        }
    }
}

/// A handler between the HTTP codec and Hummingbird that passes the request's parts on and the answer's parts out.
protocol HTTPPartsHandler: ChannelDuplexHandler
where
    InboundIn == HTTPRequestPart, InboundOut == HTTPRequestPart, OutboundIn == HTTPResponsePart,
    OutboundOut == HTTPResponsePart
{}
