import Foundation
import Support
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct RegularFileTests {
    /// A fresh directory, removed by the caller.
    private func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("regular-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    private func failure(_ body: () throws(RegularFile.Failure) -> Void) -> RegularFile.Failure? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    @Test func aRegularFileIsReadWholeUpToTheLimit() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/file"))
        #expect(try RegularFile.contents(of: folder + "/file") == bytes)
        #expect(try RegularFile.contents(of: folder + "/file", limit: 10_000) == bytes)
        let over = failure { () throws(RegularFile.Failure) in
            _ = try RegularFile.contents(of: folder + "/file", limit: 9_999)
        }
        #expect(over?.kind == .tooLarge && over?.message == "\(folder)/file: is over 9 KB")
        try Data().write(to: URL(fileURLWithPath: folder + "/empty"))
        #expect(try RegularFile.contents(of: folder + "/empty") == [])
        // The size `fstat` gives is not taken on trust: /proc's files say 0 and hold more; a sparse file of a
        // terabyte over the limit is refused before a byte is read.
        let maps = try RegularFile.contents(of: "/proc/self/maps")
        #expect(maps.count > 100 && maps.last == 0x0A)
        let sparse = folder + "/sparse"
        #expect(FileManager.default.createFile(atPath: sparse, contents: nil) && truncate(sparse, 1 << 40) == 0)
        #expect(
            failure { () throws(RegularFile.Failure) in _ = try RegularFile.contents(of: sparse, limit: 1 << 20) }?.kind
                == .tooLarge)
        let (descriptor, size) = try RegularFile.open(folder + "/file")
        defer { close(descriptor) }
        #expect(size == 10_000)
        // Open for ordinary (blocking) reads: the flag that kept a FIFO's open from waiting is cleared.
        #expect(fcntl(descriptor, F_GETFL) & O_NONBLOCK == 0)
    }

    /// A file read with no limit of its own is bounded by an eighth of the machine's memory: a dataset file larger
    /// than the machine was read whole, and the process killed by the kernel.
    @Test func aFileReadWholeIsBoundedByTheMachinesMemory() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let memory = UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
        #expect(RegularFile.wholeFileLimit == Int(memory / 8))
        let sparse = folder + "/sparse"
        #expect(
            FileManager.default.createFile(atPath: sparse, contents: nil)
                && truncate(sparse, off_t(RegularFile.wholeFileLimit) + 1) == 0)
        let over = failure { () throws(RegularFile.Failure) in _ = try RegularFile.contents(of: sparse) }
        #expect(over?.kind == .tooLarge)
        #expect(over?.message.hasSuffix(" (an eighth of this machine's memory, the most read whole)") == true)
        #expect(truncate(sparse, 4096) == 0)
        #expect(try RegularFile.contents(of: sparse) == [UInt8](repeating: 0, count: 4096))
    }

    /// A FIFO without a writer is refused at once: an `open` without `O_NONBLOCK` waited for a writer for ever.
    @Test func whatIsNotARegularFileIsRefusedBeforeAnythingIsRead() throws {
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(mkfifo(folder + "/fifo", 0o600) == 0)
        #expect(symlink(folder + "/nothing", folder + "/dangling") == 0)
        let cases: [(String, RegularFile.Failure.Kind, String)] = [
            (folder + "/fifo", .notARegularFile, "is a FIFO (a named pipe)"),
            ("/dev/zero", .notARegularFile, "is a character device"),
            ("/dev/null", .notARegularFile, "is a character device"),
            (folder, .notARegularFile, "is a directory"),
            (folder + "/dangling", .cannotRead, "is a symbolic link to nothing"),
            (folder + "/absent", .missing, "no such file"),
        ]
        for (path, kind, problem) in cases {
            let error = failure { () throws(RegularFile.Failure) in _ = try RegularFile.contents(of: path) }
            #expect(
                error?.kind == kind && error?.path == path && error?.problem == problem,
                "\(path): \(String(describing: error))")
            #expect(error?.message(expecting: "a list") == "\(path): \(problem); expected a list")
        }
        // An empty path was named as nothing: ": no such file".
        let empty = failure { () throws(RegularFile.Failure) in _ = try RegularFile.contents(of: "") }
        #expect(empty?.kind == .missing && empty?.message(expecting: "a list") == "the path is empty; expected a list")
    }
}
