import FuzzSupport
import Server

/// Raw bytes as the server's vector lane reads a request head from a connection: a framed head ends in CRLF CRLF
/// within the bytes, its parts lie inside it, and every shorter prefix of it is incomplete.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = FuzzInput.bytes(data, size)
    guard case .framed(let head) = RequestHead.read(bytes) else { return 0 }
    precondition(head.length >= 4 && head.length <= min(bytes.count, RequestHead.maximumLength))
    precondition(Array(bytes[(head.length - 4)..<head.length]) == Array("\r\n\r\n".utf8))
    precondition(head.bodyLength >= 0 && head.target.endIndex <= head.length && !head.method.isEmpty)
    for end in stride(from: 0, to: head.length, by: max(1, head.length / 16)) {
        precondition(RequestHead.read(Array(bytes[..<end])) == .incomplete, "a prefix of \(end) bytes")
    }
    return 0
}
