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
        let path = path(suffix)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// A path of this process in /dev/shm (or the temporary directory), removed with everything else of this
    /// process's there when it exits.
    public static func path(_ suffix: String) -> String {
        _ = removedAtExit
        return directory + "/" + prefix + suffix
    }

    private static let directory =
        FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    private static var prefix: String { "w2vcache-fuzz-\(getpid())" }

    private static let removedAtExit: Void = {
        atexit {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: FuzzInput.directory)) ?? []
            for name in names where name.hasPrefix(FuzzInput.prefix) {
                try? FileManager.default.removeItem(atPath: FuzzInput.directory + "/" + name)
            }
        }
    }()
}
