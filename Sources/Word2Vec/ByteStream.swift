import CZlib
import Support

/// The decompressed bytes of a vectors file: gzip (one or several members) is inflated as it is read, anything else
/// passes through. Never holds more than one input chunk in memory.
public final class ByteStream {
    private let file: SourceFile
    private var inflater: Inflater?
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var fileEnded = false

    /// Whether the file is gzip-compressed (detected from its first two bytes).
    public let isGzip: Bool
    /// The path the stream reads.
    public var path: String { file.path }
    /// The file's size on disk.
    public var fileSize: UInt64 { file.size }
    /// How many bytes of the file have been read (compressed bytes, for a gzip file).
    public var fileBytesRead: UInt64 { file.offset }
    /// The CRC-32 of the decompressed bytes read so far (for a single-member gzip file, once read to the end, the
    /// CRC-32 its trailer holds). For gzip input zlib computes it anyway while checking each member's trailer.
    public var dataCRC32: UInt32 {
        inflater.map { UInt32(truncatingIfNeeded: $0.crc32) } ?? plainCRC32
    }
    private var plainCRC32: UInt32 = 0

    /// Opens `path`; a missing file or a directory is a ``Word2VecError``.
    public init(path: String, chunkSize: Int = 1 << 20) throws {
        file = try SourceFile(path: path)
        // Fill the first chunk to look at the magic bytes. `deinit` does not run if that throws: free it here.
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        do {
            inputEnd = try file.read(into: input)
        } catch {
            input.deallocate()
            throw error
        }
        self.input = input
        fileEnded = inputEnd == 0
        isGzip = inputEnd >= 2 && input[0] == 0x1f && input[1] == 0x8b
        if isGzip { inflater = try Inflater(path: path) }
    }

    deinit {
        input.deallocate()
    }

    /// Reads up to `buffer.count` decompressed bytes; returns 0 only at the true end of the data.
    /// - throws: ``Word2VecError`` for a truncated or corrupt gzip stream, naming the compressed offset.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            if inputStart == inputEnd && !fileEnded {
                inputStart = 0
                inputEnd = try file.read(into: input)
                fileEnded = inputEnd == 0
            }
            guard let inflater else {
                // Plain file: copy straight through.
                let count = min(buffer.count, inputEnd - inputStart)
                if count == 0 { return 0 }
                buffer.baseAddress!.copyMemory(from: input.baseAddress! + inputStart, byteCount: count)
                plainCRC32 = CRC32.checksum(UnsafeRawBufferPointer(rebasing: buffer[..<count]), continuing: plainCRC32)
                inputStart += count
                return count
            }
            let available = UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd])
            let (consumed, produced) = try inflater.inflate(
                available, into: buffer,
                compressedOffset: file.offset - UInt64(inputEnd - inputStart), fileEnded: fileEnded)
            inputStart += consumed
            if produced > 0 { return produced }
            if inputStart == inputEnd && fileEnded {
                try inflater.finish(compressedOffset: file.offset)
                return 0
            }
        }
    }
}

/// zlib's inflate state for gzip data, restarted at each member boundary.
private final class Inflater {
    private var stream = z_stream()
    private let path: String
    /// Whether the last member ended cleanly (`Z_STREAM_END`) and no new member has started.
    private var atMemberBoundary = false
    /// The CRC-32 of the data of all finished members.
    private var finishedCRC32: UInt = 0

    /// The CRC-32 of all data inflated so far (zlib keeps the current member's in `adler`).
    var crc32: UInt {
        atMemberBoundary ? finishedCRC32 : crc32_combine(finishedCRC32, stream.adler, off_t(stream.total_out))
    }

    init(path: String) throws {
        self.path = path
        // 16 + MAX_WBITS: expect a gzip header and trailer.
        let status = w2v_inflateInit2(&stream, 16 + MAX_WBITS)
        guard status == Z_OK else {
            throw Word2VecError(
                file: path, kind: .corruptGzip, message: "zlib could not start inflating (status \(status))")
        }
    }

    deinit {
        inflateEnd(&stream)
    }

    /// Inflates from `input` into `output`; returns the bytes consumed and produced.
    func inflate(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        compressedOffset: UInt64, fileEnded: Bool
    ) throws -> (consumed: Int, produced: Int) {
        if input.isEmpty { return (0, 0) }
        if atMemberBoundary {
            // Another gzip member follows (pigz, `cat a.gz b.gz`); zero padding after the last member is tolerated.
            if input.allSatisfy({ $0 == 0 }) { return (input.count, 0) }
            inflateReset(&stream)
            atMemberBoundary = false
        }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let status = CZlib.inflate(&stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.avail_in)
        let produced = output.count - Int(stream.avail_out)
        switch status {
        case Z_OK:
            break
        case Z_STREAM_END:
            finishedCRC32 = crc32_combine(finishedCRC32, stream.adler, off_t(stream.total_out))
            atMemberBoundary = true
        case Z_BUF_ERROR:
            // No progress possible: needs more input. Handled by `finish` at the end of the file.
            break
        default:
            let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
            throw Word2VecError(
                file: path, kind: .corruptGzip, location: .fileOffset(compressedOffset + UInt64(consumed)),
                message: "corrupt gzip data (\(reason)); expected a valid deflate stream")
        }
        return (consumed, produced)
    }

    /// Called at the end of the file: the last member must have ended with its trailer.
    func finish(compressedOffset: UInt64) throws {
        guard atMemberBoundary else {
            throw Word2VecError(
                file: path, kind: .truncatedGzip, location: .fileOffset(compressedOffset),
                message: "the gzip stream is truncated: the file ends in the middle of compressed data "
                    + "(expected more data and the gzip trailer)")
        }
    }
}
