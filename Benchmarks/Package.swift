// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

// Benchmarks live in their own package so that normal builds never compile them.
// Run through scripts/bench/*.py, or: swift run -c release --package-path Benchmarks DatasetBench --help
let package = Package(
    name: "w2vcache-benchmarks",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "ChecksumBench",
            dependencies: [.product(name: "LevelDB", package: root)]
        ),
        .executableTarget(
            name: "SimilarityBench",
            dependencies: [.product(name: "CVectorKernels", package: root), .product(name: "COpenBLAS", package: root)]
        ),
        .executableTarget(
            name: "DatasetBench",
            dependencies: [
                .product(name: "Datasets", package: root),
                .product(name: "VectorCache", package: root),
            ]
        ),
    ]
)
