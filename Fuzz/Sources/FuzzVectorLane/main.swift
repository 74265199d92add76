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
/// - A body the lane reads decodes as the router reads it to the same words, `missing` policy and kind of
///   out-of-vocabulary vector, and gives no key twice: with Foundation's JSON decoder, or, where it holds bytes as
///   lone `\udc80`-`\udcff` (words that are not UTF-8), which that decoder refuses, with ``EscapedWords`` taking
///   them out.
/// - The type ``AcceptHeader`` chooses by a head's `Accept` is one offered or none, and stays the same when a
///   `*/*;q=0` is added to the list.
/// - A key ``RepeatedKey`` finds twice in JSON that Foundation reads is a key of the object its path leads to.
/// - ``JSONSyntax`` finds a fault in exactly the UTF-8 bytes that Foundation's parser refuses, and places it within
///   them (Foundation also reads UTF-16 and UTF-32, which JSONSyntax names as such). Taking lone `\udc80`-`\udcff`
///   in values too, it finds none in exactly the bytes that Foundation reads once ``EscapedWords`` has taken those
///   out.
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
        if let accept = head.accept { checkTheChoice(accept) }
    }
    if let body = WordsBody.read(bytes) {
        struct Body: Decodable {
            var words: [String]
            var missing: String?
            var oov: String?
        }
        let taken = EscapedWords.takeOut(of: bytes)
        let decoded = try? JSONDecoder().decode(Body.self, from: Data(taken?.json ?? bytes))
        guard let decoded else { preconditionFailure("the lane read a body the router's decoder refuses") }
        let words = decoded.words.map { text in
            // A string taken out stands as U+0000 and its number.
            guard let taken, text.utf8.first == 0 else { return Array(text.utf8) }
            guard let index = Int(String(text.unicodeScalars.dropFirst())), taken.escaped.words.indices.contains(index)
            else { preconditionFailure("\(text.debugDescription) stands for no string taken out") }
            return taken.escaped.words[index]
        }
        precondition(words == body.words.map(Array.init), "the lane read other words")
        precondition((decoded.missing ?? "error") == body.missing.rawValue, "the lane read another policy")
        precondition(decoded.oov == body.oov?.rawValue, "the lane read another kind of vector")
    }
    let json = try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
    let fault = bytes.withUnsafeBytes { JSONSyntax.firstFault(in: $0) }
    precondition(
        (fault == nil) == (json != nil) || fault?.problem == JSONSyntax.otherEncoding,
        "JSONSyntax: \(fault.map(\.description) ?? "no fault"), Foundation: \(json != nil)")
    if let fault { precondition(fault.offset <= bytes.count && fault.line >= 1 && fault.column >= 1) }
    if fault != nil, fault?.problem != JSONSyntax.otherEncoding {
        let escapes = bytes.withUnsafeBytes { JSONSyntax.firstFault(in: $0, surrogateEscapes: true) }
        let taken = EscapedWords.takeOut(of: bytes)
        let read = taken.flatMap { try? JSONSerialization.jsonObject(with: Data($0.json), options: .fragmentsAllowed) }
        precondition(
            (escapes == nil) == (read != nil),
            "JSONSyntax with escaped bytes: \(escapes.map(\.description) ?? "no fault"), taken out: \(taken != nil), "
                + "Foundation: \(read != nil)")
    }
    let repeated = bytes.withUnsafeBytes { RepeatedKey.first(in: $0) }
    if let repeated, let value = json {
        var object: Any? = value
        for step in repeated.path {
            switch step {
            case .key(let key): object = (object as? [String: Any])?[key]
            case .index(let index): object = (object as? [Any]).flatMap { index < $0.count ? $0[index] : nil }
            }
        }
        precondition((object as? [String: Any])?[repeated.key] != nil, "\(repeated) names no key of the JSON")
    }
    precondition(repeated == nil || WordsBody.read(bytes) == nil, "the lane read a body with a key twice")
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

/// Chooses among a single vector's types by `accept`: one of them or none, and the same with `, */*;q=0` after it (a
/// range that weighs nothing and is less specific than any other), unless `accept` is blank (no header: the default).
func checkTheChoice(_ accept: ArraySlice<UInt8>) {
    let offers: [MediaType] = [.npy, .float32, .json]
    let choice = AcceptHeader.choose(among: offers, accept: accept)
    precondition(choice == nil || offers.contains(choice!), "chose \(choice!.name), which is not offered")
    if accept.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) {
        let longer = Array(accept) + Array(", */*;q=0".utf8)
        precondition(AcceptHeader.choose(among: offers, accept: longer[...]) == choice, "*/*;q=0 changed the choice")
    }
}
