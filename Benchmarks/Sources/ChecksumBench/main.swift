// What verifying LevelDB's block checksums on every read costs: random gets of words, and full scans of the
// cache's metadata (what loading a prepared dataset reads), each with checksums off and on, alternating, in one run.
// The cache opens as w2vcache opens it (its block cache, bloom filters); `on` is how w2vcache always reads.
//
// Usage: ChecksumBench CACHE_DIR [GETS]
import Foundation
import LevelDB

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: ChecksumBench CACHE_DIR [GETS]")
    exit(2)
}
let path = arguments[1]
let gets = arguments.count > 2 ? Int(arguments[2])! : 200_000

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Opened as w2vcache opens a cache (read-only, StorageSettings' defaults), with checksums as asked.
func open(checksums: Bool) throws -> Database {
    var options = Options()
    options.access = .readOnly
    options.blockSize = 4 << 10
    options.blockCacheSize = 64 << 20
    options.bloomBitsPerKey = 10
    options.verifyChecksums = checksums
    options.paranoidChecks = checksums
    return try Database(path: path, options: options)
}

/// Every word key, and the bytes of metadata values (keys beginning with 0x00).
func contents(_ database: Database) throws -> (words: [[UInt8]], metadataBytes: Int) {
    var words: [[UInt8]] = []
    var metadataBytes = 0
    let iterator = try database.makeIterator(fillCache: false)
    iterator.seekToFirst()
    while iterator.isValid {
        try iterator.withKey { key in
            if key.first != 0 { words.append(Array(key)) } else { metadataBytes += try iterator.withValue { $0.count } }
        }
        iterator.next()
    }
    return (words, metadataBytes)
}

/// Bytes of metadata scanned (what loading a prepared dataset reads).
func scanMetadata(_ database: Database) throws -> Int {
    var scanned = 0
    let iterator = try database.makeIterator(fillCache: false)
    iterator.seek(to: [0])
    while iterator.isValid, try iterator.withKey({ $0.first == 0 }) {
        scanned += try iterator.withValue { $0.count }
        iterator.next()
    }
    return scanned
}

// The words, and a random order of lookups over them.
let database = try open(checksums: false)
let (words, metadataBytes) = try contents(database)
try database.close()
var random = SystemRandomNumberGenerator()
let lookups = (0..<gets).map { _ in words[Int.random(in: 0..<words.count, using: &random)] }
print("cache \(path): \(words.count) words, \(metadataBytes) bytes of metadata; \(gets) random gets per run")

var results: [Bool: [(gets: Double, scan: Double)]] = [false: [], true: []]
for checksums in [false, true, false, true, false, true] {
    let database = try open(checksums: checksums)
    var found = 0
    let getTime = try seconds {
        for word in lookups { found += try database.withValue(forKey: word) { $0 == nil ? 0 : 1 } }
    }
    precondition(found == gets)
    var scanned = 0
    let scanTime = try seconds { scanned = try scanMetadata(database) }
    results[checksums]!.append((Double(gets) / getTime, Double(max(scanned, 1)) / scanTime / 1e6))
    try database.close()
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
for checksums in [false, true] {
    let runs = results[checksums]!
    print(
        String(
            format: "checksums %@: %.0f random gets/s (runs: %@); metadata scan %.0f MB/s",
            checksums ? "on " : "off", median(runs.map(\.gets)),
            runs.map { String(format: "%.0f", $0.gets) }.joined(separator: ", "), median(runs.map(\.scan))))
}
print(
    String(
        format: "checksums on: %.2fx the random gets/s of off; %.2fx the scan rate",
        median(results[true]!.map(\.gets)) / median(results[false]!.map(\.gets)),
        median(results[true]!.map(\.scan)) / median(results[false]!.map(\.scan))))
