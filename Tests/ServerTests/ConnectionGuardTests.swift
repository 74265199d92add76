import Foundation
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import Server

/// ``ConnectionGuard`` and ``ConnectionRoster`` on embedded channels, where a test decides when the socket takes a
/// write: the states a real socket reaches only by the chance of its buffer sizes.
@Suite struct ConnectionGuardTests {
    /// A connection whose answer waits in the server (the socket has taken the head, not the rest) while the lane
    /// ahead reads bytes of its client's next head is still the slow one: the bytes do not make it quiet from then on,
    /// which would leave it closable later than a body just become slow, and the newcomer would cut that body instead.
    /// Once its answer is taken, the same bytes do count: it is quiet from them.
    @Test func bytesFromAClientWhoseAnswerWaitsDoNotMakeItQuiet() throws {
        var settings = ServerSettings()
        settings.slowClientTime = .milliseconds(200)
        let roster = ConnectionRoster()
        let (reader, socket) = try Self.connection(settings, roster)
        let readerGuard = try reader.pipeline.syncOperations.handler(type: ConnectionGuard.self)

        try reader.writeInbound(HTTPRequestPart.head(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")))
        try reader.writeInbound(HTTPRequestPart.end(nil))
        for part in [HTTPResponsePart.head(HTTPResponse(status: .ok)), .body(ByteBuffer(bytes: [1])), .end(nil)] {
            reader.write(part, promise: nil)
        }
        reader.flush()
        socket.take(1)  // the head: the body and the end wait, slow from 200 ms on
        let busy = try Self.connection(settings, roster).channel
        roster.holding(try Self.activity(of: busy), closableAt: .now() + .milliseconds(300))

        usleep(350_000)
        readerGuard.bytesArrived()
        #expect(Self.closedForRoom(roster, among: [reader, busy]) === reader, "slow since 200 ms, the body since 300")

        // Answered, and quiet from the bytes that come now: later than the body, which is closed first.
        let roster2 = ConnectionRoster()
        let (answered, answeredSocket) = try Self.connection(settings, roster2)
        let answeredGuard = try answered.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        let body = try Self.connection(settings, roster2).channel
        roster2.holding(try Self.activity(of: body), closableAt: .now() + .milliseconds(100))
        try answered.writeInbound(
            HTTPRequestPart.head(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")))
        try answered.writeInbound(HTTPRequestPart.end(nil))
        answered.write(HTTPResponsePart.end(nil), promise: nil)
        answered.flush()
        answeredSocket.take(1)
        usleep(300_000)
        answeredGuard.bytesArrived()
        #expect(Self.closedForRoom(roster2, among: [answered, body]) === body)
        // Every channel closed (each holds its guard in the timers it scheduled), and the held writes failed: left
        // open, they keep the test's channels in memory, which LeakSanitizer reports.
        for channel in [reader, busy, answered, body] { _ = try? channel.finish() }
    }

    /// An active embedded channel with a guard behind a socket whose writes stay pending until taken.
    private static func connection(_ settings: ServerSettings, _ roster: ConnectionRoster) throws -> (
        channel: EmbeddedChannel, socket: HeldWrites
    ) {
        let socket = HeldWrites()
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandlers([socket, ConnectionGuard(settings: settings, roster: roster)])
        // Past its grace as a new connection: only what the test does decides when it is closable.
        roster.holding(try activity(of: channel))
        return (channel, socket)
    }

    private static func activity(of channel: EmbeddedChannel) throws -> ConnectionRoster.Activity {
        try #require(channel.pipeline.syncOperations.handler(type: ConnectionGuard.self).activity)
    }

    /// The channel the roster closes to make room, of `channels`.
    private static func closedForRoom(_ roster: ConnectionRoster, among channels: [EmbeddedChannel]) -> EmbeddedChannel?
    {
        roster.makeRoom(recheckingOn: channels[0].embeddedEventLoop)
        for channel in channels { channel.embeddedEventLoop.run() }
        let closed = channels.filter { !$0.isActive }
        return closed.count == 1 ? closed[0] : nil
    }

    /// The socket: keeps each write's promise until ``take(_:)`` says the socket has taken it.
    final class HeldWrites: ChannelOutboundHandler {
        typealias OutboundIn = HTTPResponsePart
        private var waiting: [EventLoopPromise<Void>?] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            waiting.append(promise)
        }

        func flush(context: ChannelHandlerContext) {}

        /// The socket takes the `count` oldest writes.
        func take(_ count: Int) {
            for promise in waiting.prefix(count) { promise?.succeed() }
            waiting.removeFirst(count)
        }

        /// As a socket does, a close fails the writes it never took.
        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            for promise in waiting { promise?.fail(ChannelError.ioOnClosedChannel) }
            waiting.removeAll()
            context.close(mode: mode, promise: promise)
        }
    }
}
