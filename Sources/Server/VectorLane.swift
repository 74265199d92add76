import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NumPyFormat
import Support
import VectorCache

#if canImport(Glibc)
import Glibc
#endif

/// Answers `GET /v1/vectors/{word}` (a word the cache lacks with the router's 404, logged as the router logs it), and
/// `POST /v1/vectors` of up to ``mostWords`` words (``WordsBody``) the cache has or, under `"missing": "zero"` or
/// `"oov"` with random vectors, lacks, straight from the connection's bytes, ahead of the HTTP decoder, on the
/// connection's event loop: the answer the router would give, byte for byte (`.npy`, or bare float32 with
/// `Accept: application/octet-stream`), without the decoder, the header conversions, the JSON decoder and the hops to
/// Swift concurrency and back that cost a single vector four fifths of its time (the routes clients call in a loop,
/// as they would Redis's `GET` and `MGET`).
///
/// The lane reads each request's head with ``RequestHead`` and hands every other request on to the decoder whole
/// (head and `Content-Length` body): other paths and methods, JSON, a word the cache lacks under `"missing": "error"`
/// (the router's 404 is logged), subword vectors, a missing or wrong bearer token (401). While a request handed on is
/// unanswered, the lane's requests are handed on too, so that answers keep the order of their requests; once the
/// router has answered them all, the lane answers again. A head it cannot frame (``RequestHead/Reading/unframed``)
/// hands the rest of the connection to the decoder for good.
///
/// A client that sends requests faster than it reads answers stops being read while the connection is not writable
/// (at most one read's requests wait); ``ConnectionGuard`` learns of each answer, so that its idle timeout counts
/// from there and closes a client that stopped reading.
final class VectorLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    static let route = "/v1/vectors/{word}"
    private static let prefix = Array("/v1/vectors/".utf8)

    private let state: ServerState
    private let answers: VectorAnswers
    private let connectionGuard: ConnectionGuard
    /// Where the 404s it answers are logged, as the router logs them.
    private let logger: Logger
    /// Bytes read and not yet answered or handed on.
    private var held: ByteBuffer?
    /// Requests handed to the decoder whose answers have not ended.
    private var handedOn = 0
    /// The body bytes of the request being handed on that are still to come.
    private var bodyToHandOn = 0
    /// How many bytes of the held head have been searched for its end.
    private var searched = 0
    /// The head of a request whose body is still coming, read once.
    private var headAwaitingBody: RequestHead?
    /// Set once a head could not be framed: everything goes to the decoder.
    private var decoderOnly = false
    /// Set once bytes are handed on to the decoder, until the handlers behind are told that the read has ended.
    private var handedOnUnended = false
    /// Set while answers wait for the connection to become writable; a read asked for meanwhile is kept.
    private var waitingToWrite = false
    private var readWanted = false
    /// Set when the client closed its side while requests it sent wait for the connection to become writable.
    private var inputClosedWaiting = false
    /// Whether this lane holds a request: one whose body is still coming, or requests waiting for the connection to
    /// become writable. The connection is then closable for room only once it has held it for
    /// ``ServerSettings/slowClientTime`` (``ConnectionGuard/laneHolds(_:)``).
    private var holdsRequest = false {
        didSet { if holdsRequest != oldValue { connectionGuard.laneHolds(holdsRequest) } }
    }

    init(state: ServerState, answers: VectorAnswers, connectionGuard: ConnectionGuard, logger: Logger) {
        self.state = state
        self.answers = answers
        self.connectionGuard = connectionGuard
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connectionGuard.bytesArrived()
        if decoderOnly && held == nil {
            handOn(data, context: context)
            return
        }
        var bytes = unwrapInboundIn(data)
        if var earlier = held {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        held = nil
        serve(&bytes, context: context)
    }

    /// Tells the handlers behind that a read has ended only when they were given some of it: the async channel
    /// handler at the end passes what it was given to the router then, and none needs it otherwise (passing it
    /// through them was 3% of answering one vector). While this lane alone has a use for the connection's bytes
    /// (``answersAlone``), it asks for the next read itself, from here to the channel: the channel then has a read
    /// pending and does not send one through every handler behind (6% of answering one vector). Those handlers
    /// withhold reads only while a request handed on is unanswered, or to stop reading for good when the server
    /// quiesces, which closes a connection with no request of theirs unanswered.
    func channelReadComplete(context: ChannelHandlerContext) {
        let tellBehind = handedOnUnended
        endHandedOnRead(context: context)
        if !tellBehind, answersAlone { context.read() }
    }

    private func endHandedOnRead(context: ChannelHandlerContext) {
        if handedOnUnended {
            handedOnUnended = false
            context.fireChannelReadComplete()
        }
    }

    /// Whether no request handed on is unanswered or partly handed on, the connection takes answers, and the lane
    /// still reads it: the handlers behind have no use for a read then.
    private var answersAlone: Bool {
        handedOn == 0 && bodyToHandOn == 0 && !decoderOnly && !waitingToWrite
    }

    private func handOn(_ data: NIOAny, context: ChannelHandlerContext) {
        handedOnUnended = true
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if waitingToWrite {
            readWanted = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, waitingToWrite {
            waitingToWrite = false
            if var bytes = held {
                held = nil
                serve(&bytes, context: context)
                // Requests handed on now, outside a read, reach the router when told the read has ended.
                endHandedOnRead(context: context)
            }
            if !waitingToWrite, inputClosedWaiting {
                inputClosedWaiting = false
                passOnInputClosed(context)
            }
            if !waitingToWrite, readWanted {
                readWanted = false
                context.read()
            }
            holdsRequest = headAwaitingBody != nil || waitingToWrite
        }
        context.fireChannelWritabilityChanged()
    }

    /// The close of the server's side waits for the answers written before it (see ``OutputCloseAfterWrites``).
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        OutputCloseAfterWrites.close(context, mode: mode, promise: promise)
    }

    /// A client that closes its side after its requests (HTTP/1.1 allows it) is owed their answers, but the handlers
    /// behind end the connection once they have answered the requests they were given, at once where they were
    /// given none. So they learn of the close after the requests waiting for the connection to become writable
    /// are answered or handed on, and after the socket has taken this lane's answers.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if waitingToWrite {
            inputClosedWaiting = true
        } else {
            passOnInputClosed(context)
        }
    }

    private func passOnInputClosed(_ context: ChannelHandlerContext) {
        OutputCloseAfterWrites.onceWritten(context) { written in
            if written { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        }
    }

    /// Called by ``RouterAnswerEnds`` as each answer to a request handed on ends.
    func routerAnswered() {
        if handedOn > 0 { handedOn -= 1 }
    }

    /// Answers or hands on the requests at the front of `bytes`, keeping an incomplete one for the next read.
    private func serve(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        var answered = 0
        defer {
            holdsRequest = headAwaitingBody != nil || waitingToWrite
            if answered > 0 {
                context.flush()
                connectionGuard.requestsAnsweredAhead(answered)
            }
        }
        while bytes.readableBytes > 0 {
            if decoderOnly {
                handOn(wrapInboundOut(bytes), context: context)
                return
            }
            if bodyToHandOn > 0 {
                let part = bytes.readSlice(length: min(bodyToHandOn, bytes.readableBytes))!
                bodyToHandOn -= part.readableBytes
                handOn(wrapInboundOut(part), context: context)
                continue
            }
            guard context.channel.isWritable else {
                waitingToWrite = true
                break
            }
            let reading = headAwaitingBody.map { RequestHead.Reading.framed($0) } ?? head(of: bytes)
            headAwaitingBody = nil
            switch reading {
            case .incomplete:
                held = bytes
                return
            case .unframed:
                decoderOnly = true
            case .framed(let head):
                if handedOn == 0, bodyToHandOn == 0, let route = Route(head) {
                    if bytes.readableBytes < head.length + head.bodyLength {
                        held = bytes
                        headAwaitingBody = head
                        return
                    }
                    if let (answer, reservation) = answer(route, head, in: bytes, channel: context.channel) {
                        bytes.moveReaderIndex(forwardBy: head.length + head.bodyLength)
                        let written = reservation.map { reservation in
                            let written = context.eventLoop.makePromise(of: Void.self)
                            written.futureResult.whenComplete { _ in reservation.release() }
                            return written
                        }
                        context.write(wrapOutboundOut(.byteBuffer(answer)), promise: written)
                        answered += 1
                        continue
                    }
                }
                handedOn += 1
                bodyToHandOn = head.bodyLength
                handOn(wrapInboundOut(bytes.readSlice(length: head.length)!), context: context)
            }
        }
        if bytes.readableBytes > 0 { held = bytes }
    }

    /// The head at the front of `bytes`. Its end is searched for only in the bytes not searched before, and it is
    /// read (its bytes copied) once the end has come, a stray CR or LF shows it cannot be framed, or it is too long:
    /// a head that arrives a byte at a time costs its length, not its length squared.
    private func head(of bytes: ByteBuffer) -> RequestHead.Reading {
        let available = min(bytes.readableBytes, RequestHead.maximumLength)
        let (end, stray) = bytes.withUnsafeReadableBytes { raw -> (Int?, Bool) in
            var index = searched
            while index < available {
                switch raw[index] {
                case 0x0A:
                    guard index > 0, raw[index - 1] == 0x0D else { return (nil, true) }
                    if index >= 3, raw[index - 2] == 0x0A, raw[index - 3] == 0x0D { return (index + 1, false) }
                case 0x0D:
                    if index + 1 < available, raw[index + 1] != 0x0A { return (nil, true) }
                default:
                    break
                }
                index += 1
            }
            return (nil, false)
        }
        guard end != nil || stray || available == RequestHead.maximumLength else {
            searched = available
            return .incomplete
        }
        searched = 0
        return RequestHead.read(bytes.getBytes(at: bytes.readerIndex, length: end ?? available)!)
    }

    /// The routes this lane may answer.
    private enum Route {
        /// `GET /v1/vectors/{word}`, the word as sent, without a query (the router refuses one).
        case vector(ArraySlice<UInt8>)
        /// `POST /v1/vectors` with a body of at most ``VectorLane/largestBody`` bytes, as it is (the router refuses
        /// a `Content-Encoding`).
        case vectors

        init?(_ head: borrowing RequestHead) {
            if head.method.elementsEqual("GET".utf8), head.bodyLength == 0, head.target.starts(with: VectorLane.prefix)
            {
                let path = head.target.dropFirst(VectorLane.prefix.count)
                // A deeper path, a query (which the router refuses) or a fragment: the router's.
                guard !path.isEmpty, !path.contains(UInt8(ascii: "/")), !path.contains(UInt8(ascii: "?")),
                    !path.contains(UInt8(ascii: "#"))
                else { return nil }
                self = .vector(path)
            } else if head.method.elementsEqual("POST".utf8), head.target.elementsEqual("/v1/vectors".utf8),
                (1...VectorLane.largestBody).contains(head.bodyLength), !head.encodesItsBody
            {
                self = .vectors
            } else {
                return nil
            }
        }
    }

    /// The longest `POST /v1/vectors` body this lane reads (longer ones go to the router).
    static let largestBody = 64 << 10
    /// The most words of a `POST /v1/vectors` answered here, so that one answer holds the event loop for a
    /// millisecond or two at most; more go to the router, which spreads them over the cores.
    static let mostWords = 256
    /// The most bytes of vectors an answer of this lane holds (262 vectors of 1,000 dimensions, one of 262,144):
    /// larger answers go to the router, off the event loop, so that copying or making them (a random vector costs
    /// about 2.5 ns a value) never holds it for more than a millisecond or so.
    static let largestAnswer = 1 << 20

    /// How the lane fills the row of a word the cache lacks, as `body.missing` says: it writes the row and returns
    /// its letter in `X-W2VCache-Rows`, or returns `nil` to leave the request to the router (under `error`, whose
    /// 404 the router logs). `nil` leaves every such request to the router: subword vectors, whose n-gram rows the
    /// router loads once, off the event loop.
    private func missingRow(_ body: WordsBody) -> ((ArraySlice<UInt8>, UnsafeMutableRawBufferPointer) -> UInt8?)? {
        switch body.missing {
        case .error:
            return { _, _ in nil }
        case .zero:
            return { _, row in
                row.initializeMemory(as: UInt8.self, repeating: 0)
                return UInt8(ascii: "z")
            }
        case .oov:
            // The router's source: the kind asked for, else the server's (``ServerState/oovSource(kind:)``).
            guard (body.oov ?? state.oov.kind) == .random else { return nil }
            let random = state.oov.random
            return { word, row in random.write(for: word, into: row) ? UInt8(ascii: "r") : nil }
        }
    }

    /// The reservation of an answer of `rows` vectors on `channel`, reckoned as the router reckons it, so that clients
    /// that ask and do not read are bounded all together (``AnswerMemory/reserveUnlessSmall(_:for:)``).
    /// - throws: ``APIError`` 503 when it does not fit beside the answers held.
    private func reservation(rows: Int, on channel: any Channel) throws -> AnswerMemory.Reservation? {
        try state.answerMemory.reserveUnlessSmall(rows * state.cache.vectorBytes + 128, for: channel)  // and `.npy`'s
    }

    /// The router's 404 for a vector the cache lacks (`word` decoded), logged and counted as the router's is.
    private func notFound(
        _ word: ArraySlice<UInt8>, _ head: RequestHead, started: ContinuousClock.Instant, allocator: ByteBufferAllocator
    ) -> (ByteBuffer, AnswerMemory.Reservation?) {
        let error = APIError.notInTheCache(word)
        let answer = answers.answer(error, allocator: allocator)
        state.failureLog.log(
            ErrorMiddleware<ServerRequestContext>.line(
                "GET", String(decoding: head.target, as: UTF8.self), error.status, error.message),
            level: .warning, to: logger)
        state.metrics.record(
            route: Self.route, status: Int(error.status.code), seconds: (ContinuousClock.now - started) / .seconds(1),
            bytes: answer.bodyLength)
        return (answer.bytes, nil)
    }

    /// The whole answer (status line, headers, body) to the request at the front of `bytes` when this lane gives it,
    /// and the reservation it holds until written; else `nil`: the request then goes to the router, which meets the
    /// same word, error or bound and answers it.
    private func answer(_ route: Route, _ head: RequestHead, in bytes: ByteBuffer, channel: any Channel)
        -> (ByteBuffer, AnswerMemory.Reservation?)?
    {
        let allocator = channel.allocator
        guard !head.repeatsAHeader else { return nil }
        if let token = state.token,
            !token.authorizes(String(decoding: head.authorization ?? [], as: UTF8.self))
        {
            return nil
        }
        let offers = if case .vector = route { MediaType.oneVector } else { MediaType.severalVectors }
        // JSON and the 406 are the router's.
        guard let type = AcceptHeader.choose(among: offers, accept: head.accept), type != .json else { return nil }
        let bare = type == .float32
        let started = ContinuousClock.now
        let answer: VectorAnswers.Answer?
        let reservation: AnswerMemory.Reservation?
        let (metricsRoute, words): (String, Int)
        switch route {
        case .vector(let path):
            if state.cache.vectorBytes > Self.largestAnswer { return nil }
            do { reservation = try self.reservation(rows: 1, on: channel) } catch { return nil }
            var word = path
            if word.contains(UInt8(ascii: "%")) {
                guard let decoded = PercentDecoding.bytes(word) else { return nil }  // the router's 400
                word = decoded[...]
            }
            var absent = false
            answer = try? state.vectors.withVectorBytes(for: word) { vector in
                guard let vector else {
                    absent = true
                    return nil
                }
                return answers.answer(vector: vector, bare: bare, allocator: allocator)
            }
            if absent { return notFound(word, head, started: started, allocator: allocator) }
            (metricsRoute, words) = (Self.route, 1)
        case .vectors:
            guard head.bodyLength <= state.settings.maxBodyBytes else { return nil }  // the router's 413
            let bytes = bytes.getBytes(at: bytes.readerIndex + head.length, length: head.bodyLength)!
            guard let body = WordsBody.read(bytes),
                body.words.count <= min(Self.mostWords, state.settings.maxWordsPerRequest),
                body.words.count * state.cache.vectorBytes <= Self.largestAnswer,
                let missing = missingRow(body)
            else { return nil }
            let list = body.words
            do { reservation = try self.reservation(rows: list.count, on: channel) } catch { return nil }
            let rowBytes = state.cache.vectorBytes
            answer = answers.answer(rows: list.count, bare: bare, allocator: allocator) { rows, letters in
                guard
                    let found = try? state.vectors.copyVectors(
                        of: list, into: rows, allOrNothing: body.missing == .error)
                else { return false }
                for index in list.indices where !found[index] {
                    guard let letter = missing(list[index], rows.row(index, bytes: rowBytes)) else { return false }
                    letters.append((index, letter))
                }
                return true
            }
            (metricsRoute, words) = ("/v1/vectors", list.count)
        }
        guard let answer else { return nil }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        state.metrics.recordAnsweredAhead(
            route: metricsRoute, vectors: words, seconds: seconds, bytes: answer.bodyLength)
        return (answer.bytes, reservation)
    }
}

/// The bytes of the lane's answers, as the router sends them: for one vector, the status line and headers remade
/// once a second (for `Date`), then the vector (behind the `.npy` header unless bare); for several, the headers
/// made for their count, then the rows. One per server.
final class VectorAnswers: Sendable {
    private let dimension: Int
    /// The cache's fingerprint, in `X-W2VCache-Fingerprint` of every answer.
    let fingerprint: String
    private let npyHeader: [UInt8]
    private let heads = Locked(Heads())

    /// This second's heads: of one vector's answers, and of the answers of each count of rows asked for in it
    /// (at most ``VectorLane/mostWords`` counts, each bare or not), with the `.npy` header of their rows.
    private struct Heads {
        var second = -1
        var date = ""
        var npy: [UInt8] = []
        var bare: [UInt8] = []
        var rows: [RowsKey: RowsHead] = [:]
    }

    /// The status line and headers of an answer of several rows, all `c` in `X-W2VCache-Rows`, whose letters start
    /// at byte `letters`; and the `.npy` header of its rows.
    private struct RowsHead {
        let head: [UInt8]
        let npy: [UInt8]
        let letters: Int
    }

    private struct RowsKey: Hashable {
        let rows: Int
        let bare: Bool
    }

    init(dimension: Int, fingerprint: String) {
        self.dimension = dimension
        self.fingerprint = fingerprint
        self.npyHeader = NPY.header(type: .float32, shape: [dimension])
    }

    /// An answer's bytes (status line, headers and body), and how many of them are its body.
    struct Answer {
        let bytes: ByteBuffer
        let bodyLength: Int
    }

    /// The bytes of the body of an answer of one vector.
    private func vectorBodyLength(bare: Bool) -> Int { dimension * 4 + (bare ? 0 : npyHeader.count) }

    /// The answer of one vector; `nil` when `vector` is not of the cache's dimension.
    func answer(vector: UnsafeRawBufferPointer, bare: Bool, allocator: ByteBufferAllocator) -> Answer? {
        guard vector.count == dimension * 4 else { return nil }
        let head = current { bare ? $0.bare : $0.npy }
        let bodyLength = vectorBodyLength(bare: bare)
        var buffer = allocator.buffer(capacity: head.count + bodyLength)
        buffer.writeBytes(head)
        if !bare { buffer.writeBytes(npyHeader) }
        buffer.writeBytes(vector)
        return Answer(bytes: buffer, bodyLength: bodyLength)
    }

    /// This second's `Date`, as every answer gives it.
    var date: String { current { $0.date } }

    /// The answer the router gives `error`: its status, and its message as JSON.
    func answer(_ error: APIError, allocator: ByteBufferAllocator) -> Answer {
        let body = ErrorBody.json(error.message)
        let date = current { $0.date }
        let head =
            [
                "HTTP/1.1 \(error.status.code) \(error.status.reasonPhrase)", "Content-Type: application/json",
                "Content-Length: \(body.count)",
                "\(FingerprintMiddleware<ServerRequestContext>.header.rawName): \(fingerprint)", "Date: \(date)",
                "Server: \(serverName)",
            ].joined(separator: "\r\n") + "\r\n\r\n"
        var buffer = allocator.buffer(capacity: head.utf8.count + body.count)
        buffer.writeString(head)
        buffer.writeBytes(body)
        return Answer(bytes: buffer, bodyLength: body.count)
    }

    /// The answer of `rows` rows that `fill` writes, given their bytes (one row after another), adding to the list
    /// it is given each row of another kind than `c` (a cached vector) with its letter in `X-W2VCache-Rows`
    /// (``VectorRows``), and returning whether it filled them all; `nil` when it did not.
    func answer(
        rows: Int, bare: Bool, allocator: ByteBufferAllocator,
        fill: (UnsafeMutableRawBufferPointer, inout [(row: Int, letter: UInt8)]) -> Bool
    ) -> Answer? {
        let rowBytes = dimension * 4
        let made = current { heads -> RowsHead in
            let key = RowsKey(rows: rows, bare: bare)
            if let made = heads.rows[key] { return made }
            let npy: [UInt8] = bare ? [] : NPY.header(type: .float32, shape: [rows, dimension])
            let (head, letters) = self.head(
                bare: bare, shape: "\(rows),\(dimension)", rows: String(repeating: "c", count: rows),
                bodyLength: npy.count + rows * rowBytes, date: heads.date)
            let made = RowsHead(head: head, npy: npy, letters: letters)
            heads.rows[key] = made
            return made
        }
        var buffer = allocator.buffer(capacity: made.head.count + made.npy.count + rows * rowBytes)
        buffer.writeBytes(made.head)
        buffer.writeBytes(made.npy)
        var letters: [(row: Int, letter: UInt8)] = []
        var filled = false
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: rows * rowBytes) { free in
            filled = fill(UnsafeMutableRawBufferPointer(rebasing: free[..<(rows * rowBytes)]), &letters)
            return filled ? rows * rowBytes : 0
        }
        guard filled else { return nil }
        // The head says `c` for every row: a row of another kind gets its letter there.
        for (row, letter) in letters where (0..<rows).contains(row) {
            buffer.setInteger(letter, at: made.letters + row)
        }
        return Answer(bytes: buffer, bodyLength: made.npy.count + rows * rowBytes)
    }

    private func vectorHead(bare: Bool, date: String) -> [UInt8] {
        head(bare: bare, shape: "\(dimension)", rows: nil, bodyLength: vectorBodyLength(bare: bare), date: date).bytes
    }

    /// A part of this second's heads, made anew when the second has changed.
    private func current<T>(_ part: (inout Heads) -> T) -> T {
        let second = Int(time(nil))
        return heads.withLock { heads in
            if heads.second != second {
                let date = Self.imfDate(time_t(second))
                heads = Heads(
                    second: second, date: date, npy: vectorHead(bare: false, date: date),
                    bare: vectorHead(bare: true, date: date))
            }
            return part(&heads)
        }
    }

    /// The status line and headers of an answer, in the order the router's answer has them: the shape for bare
    /// bytes, and `rows` (`X-W2VCache-Rows`) for several vectors; and the byte where the value of `rows` starts (0
    /// without it).
    private func head(bare: Bool, shape: String, rows: String?, bodyLength: Int, date: String)
        -> (bytes: [UInt8], letters: Int)
    {
        var lines = ["HTTP/1.1 200 OK", "Content-Type: \(bare ? BinaryResponse.float32 : BinaryResponse.npy)"]
        if bare { lines.append("\(BinaryResponse.shapeHeader.rawName): \(shape)") }
        var letters = 0
        if let rows {
            let name = "\(BinaryResponse.rowsHeader.rawName): "
            letters = lines.reduce(0) { $0 + $1.utf8.count + 2 } + name.utf8.count
            lines.append(name + rows)
        }
        lines += [
            "Content-Length: \(bodyLength)",
            "\(FingerprintMiddleware<ServerRequestContext>.header.rawName): \(fingerprint)",
            "Date: \(date)", "Server: \(serverName)",
        ]
        return (Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8), letters)
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// RFC 9110's IMF-fixdate, as `Date` has it: `Tue, 01 Dec 2026 12:19:55 GMT`.
    static func imfDate(_ seconds: time_t) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) "
            + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

/// Behind the HTTP codec: tells the connection's ``VectorLane`` as each answer of the router ends.
final class RouterAnswerEnds: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let lane: VectorLane

    init(lane: VectorLane) {
        self.lane = lane
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if isEnd { lane.routerAnswered() }
    }
}

/// A connection as ``buildApplication(state:logger:onServerRunning:)`` serves it: Hummingbird's HTTP/1.1 pipeline
/// with ``ConnectionGuard`` behind the codec and, when ``ServerSettings/answersVectorsOnEventLoop``, a
/// ``VectorLane`` ahead of it (else ``OutputCloseAfterWrites``, which the lane stands in for).
struct ServerConnection: ServerChildChannel {
    let responder: HTTPChannelHandler.Responder
    let state: ServerState
    let answers: VectorAnswers

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        let connectionGuard = ConnectionGuard(settings: state.settings, roster: state.connections)
        var behindTheCodec: [any RemovableChannelHandler] = [
            ParserFailureAnswer(failures: state.failureLog, metrics: state.metrics, answers: answers, logger: logger),
            connectionGuard,
        ]
        do {
            if state.settings.answersVectorsOnEventLoop {
                let lane = VectorLane(
                    state: state, answers: answers, connectionGuard: connectionGuard, logger: logger)
                try channel.pipeline.syncOperations.addHandler(lane)
                try channel.syncOptions?.setOption(
                    ChannelOptions.writeBufferWaterMark, value: Self.writeBufferWaterMark)
                behindTheCodec.append(RouterAnswerEnds(lane: lane))
            } else {
                try channel.pipeline.syncOperations.addHandler(OutputCloseAfterWrites())
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        // Setup runs on the channel's event loop, where HTTP1Channel adds these handlers.
        let handlers = NIOLoopBound(behindTheCodec, eventLoop: channel.eventLoop)
        let limits = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: ParserFailure.headLimit, maxHeaderListSize: ParserFailure.headLimit)
        return HTTP1Channel(
            responder: responder,
            configuration: .init(additionalChannelHandlers: handlers.value, httpDecoderConfiguration: limits)
        ).setup(channel: channel, logger: logger)
    }

    /// When a connection stops taking answers: over 256 KB waiting to be written, and again below 128 KB. A
    /// 100-word answer (120 KB at 300 dimensions) fits, where NIO's default (64 KB) made the connection unwritable
    /// and writable again with every one (3% of a `POST` of 100 words).
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 128 << 10, high: 256 << 10)

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}
