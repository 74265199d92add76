import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes bytes to a file, optionally gzip-compressed. Used for sample data and test fixtures.
public final class OutputFile {
    private let handle: UnsafeMutablePointer<FILE>
    private var stream = z_stream()
    private let compressed: Bool
    private let outBuffer: UnsafeMutableRawBufferPointer
    public let path: String

    /// Creates (or truncates) `path`; with `gzip`, the bytes are deflated into one gzip member.
    public init(path: String, gzip: Bool, level: Int32 = 6) throws {
        guard let handle = fopen(path, "wb") else {
            throw Word2VecError(
                file: path, kind: .cannotOpen, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.path = path
        compressed = gzip
        outBuffer = .allocate(byteCount: 1 << 18, alignment: 16)
        if gzip {
            let status = w2v_deflateInit2(&stream, level, 16 + MAX_WBITS)
            precondition(status == Z_OK, "deflateInit2 failed: \(status)")
        }
    }

    deinit {
        if compressed { deflateEnd(&stream) }
        fclose(handle)
        outBuffer.deallocate()
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard compressed else {
            try writeRaw(bytes)
            return
        }
        try deflate(bytes, flush: Z_NO_FLUSH)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Finishes the gzip member and flushes everything to the file.
    public func close() throws {
        if compressed { try deflate(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH) }
        guard fflush(handle) == 0 else {
            throw Word2VecError(
                file: path, kind: .cannotOpen, message: "write failed: \(String(cString: strerror(errno)))")
        }
    }

    private func deflate(_ bytes: UnsafeRawBufferPointer, flush: Int32) throws {
        stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(bytes.count)
        repeat {
            stream.next_out = outBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(outBuffer.count)
            let status = CZlib.deflate(&stream, flush)
            precondition(status != Z_STREAM_ERROR, "deflate state corrupted")
            try writeRaw(
                UnsafeRawBufferPointer(
                    rebasing: UnsafeRawBufferPointer(outBuffer)[0..<(outBuffer.count - Int(stream.avail_out))]))
        } while stream.avail_out == 0 || (flush == Z_FINISH && stream.avail_in > 0)
    }

    private func writeRaw(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard fwrite(bytes.baseAddress, 1, bytes.count, handle) == bytes.count else {
            throw Word2VecError(
                file: path, kind: .cannotOpen, message: "write failed: \(String(cString: strerror(errno)))")
        }
    }
}
