import Foundation
import FuzzSupport
import Server

/// Raw bytes as the server's vector lane reads them, as a request head and as a `POST /v1/vectors` body.
/// - A framed head ends in CRLF CRLF within the bytes, its parts lie inside it, and every shorter prefix of it is
///   incomplete.
/// - A body the lane reads decodes with Foundation's JSON decoder (the router's) to the same words.
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
    }
    if let words = WordsBody.read(bytes) {
        struct Body: Decodable {
            var words: [String]
            var missing: String?
        }
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(bytes)) else {
            preconditionFailure("the lane read a body the router's decoder refuses")
        }
        precondition(decoded.words.map { Array($0.utf8) } == words.map(Array.init), "the lane read other words")
        precondition(decoded.missing == nil || decoded.missing == "error")
    }
    return 0
}
