import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One per connection: the timeouts that keep a slow or silent client from holding the server, as nginx's
/// `client_header_timeout`, `client_body_timeout`, `keepalive_timeout` and `send_timeout` do, and `100 Continue`
/// for a client that waits for it before sending a body.
///
/// - Before its first request's head, a connection has ``ServerSettings/headerTimeout``; between requests,
///   ``ServerSettings/idleTimeout`` (a partial next head included).
/// - While a body is read, each part must follow the one before within ``ServerSettings/bodyTimeout``.
/// - While a response is written, a write the client does not take for ``ServerSettings/writeTimeout`` (it stopped
///   reading) closes the connection, and with it the memory its response held.
///
/// Whatever times out is closed; nothing is answered, as nginx does.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let settings: ServerSettings
    /// The read deadline now armed: for a head, or for the body's next part.
    private var readTimer: Scheduled<Void>?
    private var writeTimer: Scheduled<Void>?
    /// Writes handed to the socket and not yet taken by it.
    private var pendingWrites = 0
    private var lastWriteProgress = NIODeadline.now()
    private var servedRequests = 0

    init(settings: ServerSettings) {
        self.settings = settings
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { awaitHead(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        awaitHead(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        readTimer?.cancel()
        writeTimer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            arm(&readTimer, context, settings.bodyTimeout)
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                let announced = head.headerFields[.contentLength].flatMap { Int($0) } ?? 0
                // Over the limit, the route answers 413 at once and the client never sends the body.
                if announced <= settings.maxBodyBytes {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                }
            }
        case .body:
            arm(&readTimer, context, settings.bodyTimeout)
        case .end:
            readTimer?.cancel()
            readTimer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        let promise = promise ?? context.eventLoop.makePromise()
        pendingWrites += 1
        if pendingWrites == 1 {
            lastWriteProgress = .now()
            watchWrites(context)
        }
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            pendingWrites -= 1
            lastWriteProgress = .now()
        }
        context.write(data, promise: promise)
        if isEnd {
            servedRequests += 1
            awaitHead(context)
        }
    }

    /// Arms the deadline for the next request's head.
    private func awaitHead(_ context: ChannelHandlerContext) {
        arm(&readTimer, context, servedRequests == 0 ? settings.headerTimeout : settings.idleTimeout)
    }

    private func arm(_ timer: inout Scheduled<Void>?, _ context: ChannelHandlerContext, _ timeout: Duration) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            context.close(promise: nil)
        }
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
