import Settings
import Foundation
import Testing

@Suite struct SettingsTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theShippedFileHoldsTheBuiltInDefaults() throws {
        let shipped = try Configuration.load(path: Self.repository + "/Config/w2vcache.yml")
        #expect(shipped == Configuration())
    }

    @Test func aPartialFileOverridesOnlyItsKeys() throws {
        let configuration = try Configuration.parse("leveldb:\n  bloom_bits_per_key: 0\noov:\n  seed: 7\n", file: "x.yml")
        #expect(configuration.leveldb.bloomBitsPerKey == 0)
        #expect(configuration.oov.seed == 7)
        #expect(configuration.leveldb.writeBufferMB == Configuration().leveldb.writeBufferMB)
        #expect(configuration.cache.path == "word2vecdb")
    }

    @Test func anEmptyFileMeansDefaults() throws {
        #expect(try Configuration.parse("# nothing\n", file: "x.yml") == Configuration())
    }

    @Test func aWrongTypeNamesTheFileAndKey() {
        do {
            _ = try Configuration.parse("leveldb:\n  max_file_mb: lots\n", file: "bad.yml")
            Issue.record("a string for an integer should fail")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix("bad.yml: "))
            #expect(error.description.contains("leveldb.max_file_mb"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func anExplicitMissingFileIsAnError() {
        #expect(throws: ConfigurationError.self) { try Configuration.load(path: "/nonexistent/w2vcache.yml") }
    }
}
