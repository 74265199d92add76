import Foundation

/// Helpers the fuzz targets share.
public enum FuzzInput {
    /// The fuzzer's input as bytes.
    public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Writes `bytes` to a file of this process in memory-backed /dev/shm (or the temporary directory) and returns
    /// its path: the vectors readers read files.
    public static func file(_ bytes: [UInt8], suffix: String = "") -> String {
        let directory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = directory + "/w2vcache-fuzz-\(getpid())" + suffix
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
