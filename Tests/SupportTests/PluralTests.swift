import Support
import Testing

@Suite struct PluralTests {
    @Test func oneTakesTheSingularAndEveryOtherCountThePlural() {
        #expect(Plural.count(1, "word") == "1 word")
        #expect(Plural.count(0, "word") == "0 words")
        #expect(Plural.count(2, "word") == "2 words")
        #expect(Plural.count(-1, "word") == "-1 words")
        #expect(Plural.count(1, "batch", "batches") == "1 batch")
        #expect(Plural.count(61, "batch", "batches") == "61 batches")
        #expect(Plural.count(3, "metadata entry", "metadata entries") == "3 metadata entries")
    }
}
