import NIOCore

/// Where a client has closed its side of a connection (HTTP/1.1 allows it once its requests are sent), NIO makes
/// Hummingbird's close of the server's side (`close(mode: .output)`, once it has handed on its last answer) a full
/// close, which drops whatever the socket has not taken yet: answers cut short, pipelined ones lost. This handler
/// sits at the socket's end of the pipeline and lets such a close through only once every write before it has been
/// taken (a slow reader is still cut by ``ConnectionGuard``'s timeouts). ``VectorLane``, which sits there when it
/// serves, does the same.
final class OutputCloseAfterWrites: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        Self.close(context, mode: mode, promise: promise)
    }

    /// Closes the output once the writes before it are taken; other closes at once.
    static func close(_ context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else {
            context.close(mode: mode, promise: promise)
            return
        }
        onceWritten(context) { _ in context.close(mode: .output, promise: promise) }
    }

    /// Calls `then` once the socket has taken every write before this call (`false` if the connection closed first):
    /// an empty write is done when they are, since a socket's writes complete in order.
    static func onceWritten(_ context: ChannelHandlerContext, then: @escaping (Bool) -> Void) {
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: written)
        written.futureResult.assumeIsolated().whenComplete { result in
            if case .success = result { then(true) } else { then(false) }
        }
    }
}
