import Foundation
import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Server

/// Raw bytes as the server's vector lane reads them, as a request head and as a `POST /v1/vectors` body.
/// - A framed head ends in CRLF CRLF within the bytes, its parts lie inside it, and every shorter prefix of it is
///   incomplete.
/// - NIO's HTTP/1.1 decoder, the one behind the lane, either refuses a framed request or reads the same method and
///   target and a body of the same length, and then the request after it: the lane and the decoder never disagree on
///   where a request ends (a request smuggled inside another's body, or answers handed to the wrong requests).
/// - A body the lane reads decodes with Foundation's JSON decoder (the router's) to the same words, `missing` policy
///   and kind of out-of-vocabulary vector.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVectorLane(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    if case .framed(let head) = RequestHead.read(bytes) {
        precondition(head.length >= 4 && head.length <= min(bytes.count, RequestHead.maximumLength))
        precondition(Array(bytes[(head.length - 4)..<head.length]) == Array("\r\n\r\n".utf8))
        precondition(head.bodyLength >= 0 && head.target.endIndex <= head.length && !head.method.isEmpty)
        for end in stride(from: 0, to: head.length, by: max(1, head.length / 16)) {
            precondition(RequestHead.read(Array(bytes[..<end])) == .incomplete, "a prefix of \(end) bytes")
        }
        if head.length + head.bodyLength <= bytes.count {
            checkTheDecoderFrames(bytes[..<(head.length + head.bodyLength)], as: head)
        }
    }
    if let body = WordsBody.read(bytes) {
        struct Body: Decodable {
            var words: [String]
            var missing: String?
            var oov: String?
        }
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(bytes)) else {
            preconditionFailure("the lane read a body the router's decoder refuses")
        }
        precondition(decoded.words.map { Array($0.utf8) } == body.words.map(Array.init), "the lane read other words")
        precondition((decoded.missing ?? "error") == body.missing.rawValue, "the lane read another policy")
        precondition(decoded.oov == body.oov?.rawValue, "the lane read another kind of vector")
    }
    return 0
}

/// Feeds `request` and a request after it to NIO's HTTP/1.1 decoder: unless it refuses the head, it must read `head`'s
/// method and target, a body of `head`'s length, and then the request after it.
func checkTheDecoderFrames(_ request: ArraySlice<UInt8>, as head: RequestHead) {
    let next = Array("GET /next HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
    defer { _ = try? channel.finish() }
    var buffer = channel.allocator.buffer(capacity: request.count + next.count)
    buffer.writeBytes(request)
    buffer.writeBytes(next)
    let refused = (try? channel.writeInbound(buffer)) == nil
    var parts: [HTTPServerRequestPart] = []
    while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
    // Refusing the head is the decoder's right; refusing what follows a head it took means it read on past the end.
    if refused && parts.isEmpty { return }
    guard case .head(let decoded)? = parts.first else { preconditionFailure("the decoder read no head: \(parts)") }
    precondition(decoded.method.rawValue == String(decoding: head.method, as: UTF8.self), "another method")
    precondition(decoded.uri == String(decoding: head.target, as: UTF8.self), "another target")
    var body = 0
    var index = 1
    while index < parts.count, case .body(let part) = parts[index] {
        body += part.readableBytes
        index += 1
    }
    precondition(body == head.bodyLength, "the decoder read a body of \(body) bytes, the lane \(head.bodyLength)")
    precondition(index + 2 < parts.count, "the decoder did not read the request after it: \(parts)")
    guard case .end = parts[index], case .head(let after) = parts[index + 1], after.uri == "/next" else {
        preconditionFailure("the decoder read another request after it: \(parts[index...])")
    }
}
