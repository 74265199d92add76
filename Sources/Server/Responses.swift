import HTTPTypes
import Hummingbird
import Support

/// An answer of bytes: `.npy`, `.npz`, a raw batch, bare float32 bytes with their shape in `X-W2VCache-Shape`, or JSON
/// made once and kept.
struct BinaryResponse: ResponseGenerator {
    static let npy = "application/x-npy"
    /// JSON encoded ahead (kept vocabularies and descriptions, an answer counted in ``AnswerMemory``), typed as
    /// Hummingbird types the JSON it encodes.
    static let json = "application/json; charset=utf-8"
    static let npz = "application/x-npz"
    static let raw = "application/x-w2vcache-raw"
    /// Little-endian float32 values and nothing else: the fastest form for one vector.
    static let float32 = "application/octet-stream"
    static let shapeHeader = HTTPField.Name("X-W2VCache-Shape")!
    /// What each row of `POST /v1/vectors` is: `c` in the cache, `s` from subwords, `r` random, `z` zeros.
    static let rowsHeader = HTTPField.Name("X-W2VCache-Rows")!
    /// The examples an answer of batches holds (every array of a batch but a scalar has one row per example).
    static let examplesHeader = HTTPField.Name("X-Examples")!

    let body: ByteBuffer
    let contentType: String
    /// The array's shape, sent for bare bytes (`n,dim`).
    var shape: [Int]? = nil
    /// Headers besides the content type and shape.
    var headers: HTTPFields = [:]
    /// The memory reserved for the body (``AnswerMemory``), handed over with it.
    var reservation: AnswerMemory.Reservation? = nil

    init(bytes: [UInt8], contentType: String, shape: [Int]? = nil, headers: HTTPFields = [:]) {
        self.init(body: ByteBuffer(bytes: bytes), contentType: contentType, shape: shape, headers: headers)
    }

    /// An answer of `body`, which answers share without copying it.
    init(body: ByteBuffer, contentType: String, shape: [Int]? = nil, headers: HTTPFields = [:]) {
        self.body = body
        self.contentType = contentType
        self.shape = shape
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = headers
        headers[.contentType] = contentType
        if let shape { headers[Self.shapeHeader] = shape.map(String.init).joined(separator: ",") }
        guard let reservation else { return Response(status: .ok, headers: headers, body: .init(byteBuffer: body)) }
        let body = body
        return Response(
            status: .ok, headers: headers,
            body: .init(contentLength: body.readableBytes) { writer in
                reservation.handOver()
                try await writer.write(body)
                try await writer.finish(nil)
            })
    }
}

/// Numbers as ``ServerRequestContext/jsonEncoder()`` writes them, for JSON written without it: the shortest text that
/// reads back as the value, a whole number without its `.0` (`1`), a non-finite value as ``NonFiniteJSON`` writes it.
enum EncodedNumber {
    static func text(_ value: Float) -> String { trimmed(NonFiniteJSON.text(value)) }
    static func text(_ value: Double) -> String { trimmed(NonFiniteJSON.text(value)) }

    private static func trimmed(_ text: String) -> String { text.hasSuffix(".0") ? String(text.dropLast(2)) : text }
}
