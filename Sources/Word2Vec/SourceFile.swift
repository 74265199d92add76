import Support

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for sequential reading that keeps count of the bytes read.
final class SourceFile {
    let path: String
    /// The file's size on disk.
    let size: UInt64
    private let descriptor: Int32
    /// Bytes read so far.
    private(set) var offset: UInt64 = 0

    init(path: String) throws {
        self.path = path
        do {
            (descriptor, size) = try RegularFile.open(path)
        } catch {
            throw Word2VecError(
                file: path, kind: error.kind == .notARegularFile ? .notAFile : .cannotOpen,
                message: "\(error.problem); expected a vectors file")
        }
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    deinit {
        close(descriptor)
    }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw Word2VecError(
                    file: path, kind: .cannotOpen, location: .fileOffset(offset),
                    message: "read failed: \(String(cString: strerror(errno)))")
            }
            offset += UInt64(count)
            return count
        }
    }
}
