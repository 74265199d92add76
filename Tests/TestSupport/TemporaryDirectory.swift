import Foundation

/// A fresh directory under the system's temporary directory for one test's files, removed when released.
public final class TemporaryDirectory {
    public let path: String

    public init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("w2vcache-tests-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// The names in the directory, sorted.
    public var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

/// Every file and folder under `path` with its bytes (a folder as `<dir>`), to compare before and after.
public func snapshot(_ path: String) -> [String: Data] {
    var result: [String: Data] = [:]
    guard let enumerator = FileManager.default.enumerator(atPath: path) else { return result }
    while let name = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
        result[name] =
            isDirectory.boolValue ? Data("<dir>".utf8) : FileManager.default.contents(atPath: path + "/" + name)
    }
    return result
}

/// The third-party files in `../shared/data` beside the checkout, when present.
public enum SharedData {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data").path

    /// Whether `../shared/data` exists; suites that need it are disabled with a message when it does not.
    public static var isAvailable: Bool { FileManager.default.fileExists(atPath: directory) }

    /// A file of `../shared/data/word2vec`.
    public static func word2vec(_ name: String) -> String { directory + "/word2vec/" + name }

    /// Any file under `../shared/data`.
    public static func path(_ relative: String) -> String { directory + "/" + relative }
}

/// Damages a LevelDB directory the way a bad disk does: flips one bit of the first table file (`.ldb`) holding
/// `pattern`, `offset` bytes into it. Returns whether a table held the pattern.
@discardableResult
public func flipBit(inTablesOf directory: String, holding pattern: [UInt8], at offset: Int) throws -> Bool {
    for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(".ldb") {
        let url = URL(fileURLWithPath: directory + "/" + name)
        var data = try Data(contentsOf: url)
        guard let range = data.firstRange(of: Data(pattern)) else { continue }
        data[range.lowerBound + offset] ^= 0x10
        try data.write(to: url)
        return true
    }
    return false
}

/// The little-endian bytes of float32 values, as vectors files and the cache hold them.
public func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}
