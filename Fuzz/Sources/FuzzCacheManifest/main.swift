import Foundation
import FuzzSupport
import LevelDB

/// A database directory of this process whose table files stay put: the input becomes its MANIFEST (and CURRENT
/// names it), so that LevelDB's recovery reads edits about tables that exist, as in a cache copied from elsewhere.
let directory: String = {
    let path = FuzzInput.path("-manifest")
    try? FileManager.default.removeItem(atPath: path)
    var options = Options()
    options.createIfMissing = true
    do {
        let database = try Database(path: path, options: options)
        for index in 0..<200 { try database.put(Array("key\(index)".utf8), Array(repeating: UInt8(index), count: 100)) }
        try database.compactRange()
        try database.close()
    } catch {
        fatalError("cannot make the fuzzer's database: \(error)")
    }
    return path
}()

/// A MANIFEST through the check made before LevelDB opens a cache, then LevelDB's own recovery, read only: an error
/// or a database whose every key reads back, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCacheManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FileManager.default.createFile(atPath: directory + "/MANIFEST-000001", contents: Data(bytes: data, count: size))
    FileManager.default.createFile(atPath: directory + "/CURRENT", contents: Data("MANIFEST-000001\n".utf8))
    var options = Options()
    options.access = .readOnly
    do {
        let database = try Database(path: directory, options: options)
        let iterator = try database.makeIterator()
        iterator.seekToFirst()
        while iterator.isValid {
            _ = try iterator.value()
            iterator.next()
        }
        try iterator.checkError()
    } catch is LevelDBError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
