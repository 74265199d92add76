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
