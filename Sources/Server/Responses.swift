import Hummingbird

/// An `.npy` or `.npz` answer.
struct BinaryResponse: ResponseGenerator {
    static let npy = "application/x-npy"
    static let npz = "application/x-npz"
    static let raw = "application/x-w2vcache-raw"

    let bytes: [UInt8]
    let contentType: String

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
