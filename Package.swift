// swift-tools-version: 6.0
import PackageDescription

/// Settings every Swift target of the package shares.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "w2vcache",
    products: [
        .executable(name: "w2vcache", targets: ["w2vcache"]),
        .library(name: "LevelDB", targets: ["LevelDB"]),
        .library(name: "Word2Vec", targets: ["Word2Vec"]),
        .library(name: "Preprocessing", targets: ["Preprocessing"]),
        .library(name: "VectorCache", targets: ["VectorCache"]),
        .library(name: "SearchIndex", targets: ["SearchIndex"]),
        .library(name: "CacheBuild", targets: ["CacheBuild"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Similarity", targets: ["Similarity"]),
        // For the benchmarks, which compare the screening kernel with OpenBLAS.
        .library(name: "CVectorKernels", targets: ["CVectorKernels"]),
        .library(name: "COpenBLAS", targets: ["COpenBLAS"]),
        .library(name: "Server", targets: ["Server"]),
        // For the fuzz package (Fuzz/), which reads configuration files through it.
        .library(name: "Settings", targets: ["Settings"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
    ],
    targets: [
        // C libraries from Debian: libleveldb-dev, zlib1g-dev and libopenblas-dev (its cblas.h), found in the system
        // paths (no pkg-config: its -L would come before scripts/build-static's directory of static archives).
        .systemLibrary(name: "CLevelDB", providers: [.apt(["libleveldb-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        // glibc's malloc.h (`malloc_trim`), which Swift's Glibc module does not include.
        .systemLibrary(name: "CMalloc"),

        .target(name: "CLinuxFiles"),
        // LevelDB environment in C++ for read-only opens (the C API cannot make one): nothing on disk changes.
        .target(name: "CLevelDBEnv", dependencies: ["CLevelDB"]),
        // SIMD kernels in C: AVX-512 or AVX2 chosen at run time, which Swift cannot do per function.
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O3"])]),

        .target(name: "Support", dependencies: ["CZlib", "CVectorKernels"], swiftSettings: swiftSettings),
        .target(name: "LevelDB", dependencies: ["CLevelDB", "CLevelDBEnv", "Support"], swiftSettings: swiftSettings),
        .target(name: "Word2Vec", dependencies: ["CZlib", "Support"], swiftSettings: swiftSettings),
        .target(name: "NumPyFormat", dependencies: ["Support"], swiftSettings: swiftSettings),
        .target(
            name: "VectorCache", dependencies: ["LevelDB", "Word2Vec", "Support", "CVectorKernels"],
            swiftSettings: swiftSettings),
        .target(name: "SearchIndex", dependencies: ["VectorCache", "LevelDB"], swiftSettings: swiftSettings),
        .target(
            name: "CacheBuild",
            dependencies: [
                "VectorCache", "SearchIndex", "LevelDB", "Word2Vec", "Support", "CLinuxFiles", "CVectorKernels",
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Preprocessing", dependencies: ["Support"], swiftSettings: swiftSettings),
        .target(
            name: "Datasets",
            dependencies: ["VectorCache", "CacheBuild", "Preprocessing", "Support"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Similarity", dependencies: ["VectorCache", "SearchIndex", "Support", "COpenBLAS", "CVectorKernels"],
            // Optimized in debug builds too: the tests run every question of questions-words through it.
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"])]
        ),
        .target(
            name: "WireFormat", dependencies: ["Datasets", "NumPyFormat", "Support"], swiftSettings: swiftSettings),
        .target(
            name: "Server",
            dependencies: [
                "VectorCache", "Datasets", "NumPyFormat", "WireFormat", "Similarity", "Support", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Settings",
            dependencies: [
                "CacheBuild", "Datasets", "Server", "VectorCache", "Word2Vec", .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "w2vcache",
            dependencies: [
                "VectorCache", "CacheBuild", "Word2Vec", "Support", "Settings", "NumPyFormat", "Preprocessing",
                "Datasets", "Server",
                "WireFormat", "Similarity",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // Helpers the test targets share (temporary directories, ../shared/data).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "NumPyFormatTests", dependencies: ["NumPyFormat", "Support"], swiftSettings: swiftSettings),
        // LevelDB's own table builder, which the table writer's files must equal byte for byte.
        .target(name: "CTableReference", dependencies: ["CLevelDB"], path: "Tests/CTableReference"),
        .testTarget(
            name: "LevelDBTests", dependencies: ["LevelDB", "CLevelDBEnv", "CTableReference", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SettingsTests",
            dependencies: ["Settings", "Datasets", "CacheBuild", "Server", "VectorCache", "Word2Vec"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SupportTests", dependencies: ["Support", "CVectorKernels"], swiftSettings: swiftSettings),
        .testTarget(
            name: "Word2VecTests", dependencies: ["Word2Vec", "Support", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CacheBuildTests",
            dependencies: [
                "VectorCache", "CacheBuild", "CVectorKernels", "SearchIndex", "Word2Vec", "LevelDB", "Support",
                "TestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PreprocessingTests", dependencies: ["Preprocessing", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DatasetsTests",
            dependencies: [
                "Datasets", "Preprocessing", "VectorCache", "CacheBuild", "Word2Vec", "LevelDB", "Support",
                "TestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "VectorCache", "CacheBuild", "LevelDB", "Support", "Datasets", "Preprocessing", "NumPyFormat",
                "WireFormat", "Word2Vec",
                "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WireFormatTests",
            dependencies: [
                "WireFormat", "Support", "Datasets", "VectorCache", "CacheBuild", "Word2Vec", "Preprocessing",
                "TestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimilarityTests",
            dependencies: [
                "Similarity", "CVectorKernels", "VectorCache", "CacheBuild", "SearchIndex", "Word2Vec", "LevelDB",
                "Support", "TestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "w2vcacheTests",
            dependencies: [
                "w2vcache", "VectorCache", "LevelDB", "Word2Vec", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
