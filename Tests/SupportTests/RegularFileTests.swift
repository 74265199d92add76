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

    /// `contents(ofFileOrPipe:)` reads a pipe a process writes to as standard input is read (a shell's `<(command)`
    /// names one `/dev/fd/N`), whether the writer has finished or writes later, up to the limit; a pipe no process
    /// writes to is refused at once, and `contents(of:)` still refuses every pipe.
    @Test func aPipeAProcessWritesToIsReadToItsEnd() throws {
        func pipeEnds() -> (read: Int32, write: Int32) {
            var ends: [Int32] = [0, 0]
            #expect(pipe(&ends) == 0)
            return (ends[0], ends[1])
        }
        @Sendable func write(_ bytes: [UInt8], to descriptor: Int32) {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress!, $0.count) }
                guard written > 0 else { break }
                offset += written
            }
        }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        // The writer done before the read (`<(printf …)`): what it left in the pipe.
        let done = pipeEnds()
        write(Array(bytes.prefix(1000)), to: done.write)
        close(done.write)
        #expect(try RegularFile.contents(ofFileOrPipe: "/dev/fd/\(done.read)") == Array(bytes.prefix(1000)))
        close(done.read)
        // A writer still writing, more than a pipe holds, after a pause: read to its end, over two reads at least.
        let late = pipeEnds()
        let writer = Thread {
            usleep(200_000)
            write(bytes, to: late.write)
            close(late.write)
        }
        writer.start()
        #expect(try RegularFile.contents(ofFileOrPipe: "/dev/fd/\(late.read)") == bytes)
        close(late.read)
        // Over the limit.
        let large = pipeEnds()
        write(Array(bytes.prefix(10_000)), to: large.write)
        close(large.write)
        let tooLarge = failure { () throws(RegularFile.Failure) in
            _ = try RegularFile.contents(ofFileOrPipe: "/dev/fd/\(large.read)", limit: 4096)
        }
        #expect(tooLarge?.kind == .tooLarge && tooLarge?.problem == "is over 4 KB")
        close(large.read)
        // No writer: refused at once, a named FIFO as a pipe whose writer left without a byte.
        let folder = try directory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(mkfifo(folder + "/fifo", 0o600) == 0)
        let empty = pipeEnds()
        close(empty.write)
        for path in [folder + "/fifo", "/dev/fd/\(empty.read)"] {
            let refused = failure { () throws(RegularFile.Failure) in _ = try RegularFile.contents(ofFileOrPipe: path) }
            #expect(refused?.kind == .notARegularFile && refused?.problem == "is a FIFO no process writes to")
        }
        close(empty.read)
        // What is neither a file nor a pipe is refused as before.
        let device = failure { () throws(RegularFile.Failure) in
            _ = try RegularFile.contents(ofFileOrPipe: "/dev/zero")
        }
        #expect(device?.problem == "is a character device")
        // `contents(of:)` takes no pipe, a writer or not.
        let written = pipeEnds()
        write([1, 2, 3], to: written.write)
        let refused = failure { () throws(RegularFile.Failure) in
            _ = try RegularFile.contents(of: "/dev/fd/\(written.read)")
        }
        #expect(refused?.problem == "is a FIFO (a named pipe)")
        close(written.read)
        close(written.write)
    }
}
