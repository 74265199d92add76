// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

/// libFuzzer targets for every reader of untrusted input. They live in their own package because they only link
/// with `--sanitize fuzzer` (libFuzzer provides `main`). Run them with scripts/fuzz.
func fuzzer(_ name: String, _ products: [String], nio: [String] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: root) }
            + nio.map { .product(name: $0, package: "swift-nio") },
        path: "Sources/\(name)")
}

let package = Package(
    name: "w2vcache-fuzz",
    dependencies: [
        .package(path: ".."),
        // The same version as the root package's: FuzzVectorLane reads requests with the decoder the server uses.
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
        fuzzer("FuzzVectorsFile", ["Word2Vec"]),
        fuzzer("FuzzGzipVectors", ["Word2Vec"]),
        fuzzer("FuzzFastText", ["Word2Vec"]),
        fuzzer("FuzzCoNLL2000", ["Preprocessing"]),
        fuzzer("FuzzCoNLLU", ["Preprocessing", "Datasets"]),
        fuzzer("FuzzReviews", ["Preprocessing"]),
        fuzzer("FuzzParallelText", ["Preprocessing"]),
        fuzzer("FuzzEvaluationFiles", ["Similarity", "VectorCache", "CacheBuild", "Word2Vec"]),
        fuzzer("FuzzVectorLane", ["Server"], nio: ["NIOCore", "NIOEmbedded", "NIOHTTP1"]),
        fuzzer("FuzzConfiguration", ["Settings"]),
        fuzzer("FuzzCacheManifest", ["LevelDB"]),
        // Its other modules (CacheBuild, VectorCache, LevelDB, Preprocessing, Word2Vec) come with these two: naming
        // all seven made SwiftPM 6.3 link the tool's executable into this build, whose `main` libFuzzer's collides with.
        fuzzer("FuzzCacheRecords", ["Datasets", "SearchIndex"]),
        fuzzer("FuzzOOVMarker", ["Datasets", "SearchIndex"]),
    ]
)
