import Foundation
import TestSupport
import Testing

@testable import LevelDB

/// The directory listing ``LogTail`` makes before every open.
@Suite struct LogTailTests {
    /// Names of every length up to the longest a file may have, over several of `readdir`'s buffers, come back whole.
    /// (Each entry is read where it lies: copying `dirent` whole read past the buffer's end, which
    /// `scripts/memory-check` caught.)
    @Test func everyNameIsListedWhole() throws {
        let directory = TemporaryDirectory()
        var expected: Set<String> = []
        for length in 1...255 {
            for letter in ["a", "b", "c", "d", "e", "f"] {
                let name = String(repeating: letter, count: length)
                #expect(FileManager.default.createFile(atPath: directory.file(name), contents: nil))
                expected.insert(name)
            }
        }
        let names = LogTail.names(in: directory.path)
        #expect(names.count == expected.count + 2)
        #expect(Set(names) == expected.union([".", ".."]))
    }

    /// A directory that cannot be read lists nothing.
    @Test func aMissingDirectoryListsNothing() {
        #expect(LogTail.names(in: TemporaryDirectory().file("missing")).isEmpty)
    }
}
