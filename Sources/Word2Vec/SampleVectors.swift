import Support

/// A small, deterministic vectors file shaped like GoogleNews: common words, capitalised words, `_` phrases and
/// `#` digit forms first, then made-up words; float32 values rounded as GoogleNews's are.
///
/// It lets the project run its main job with no download. The vectors carry no meaning.
public enum SampleVectors {
    /// Words every sample file starts with, in this order.
    public static let seedWords: [String] = """
        </s> in for that is on ## The with said was the at not as it be from by are I have he will has #### his an \
        this or their who they but $ had year were we more ### up been you its one about would which out can It all \
        also two after first He new there when last people Mr time than into percent some over other if just only \
        year_old could He_said like what said_the state do because school his_own New_York United_States \
        Wall_Street Los_Angeles San_Francisco per_cent In This But A They We She It_is There_is \
        Confidence confidence king queen man woman prince princess Paris France London England Berlin Germany \
        Tokyo Japan computer software data network market stock price prices shares company companies bank \
        banks government president minister economy economic growth rate rates interest inflation \
        good bad great better best worse worst high low big small large long short old young early late \
        go goes going went gone make makes made take took taken get got see saw seen know knew known \
        think thought say says tell told give gave given find found work works worked call called \
        ask asked need needed feel felt become became leave left put mean meant keep kept let begin began \
        seem seemed help helped show showed hear heard play played run ran move moved live lived believe \
        day days week weeks month months years today tomorrow yesterday morning night evening \
        city country world home house family children child student students teacher teachers \
        money business group problem problems fact hand hands part place case point number numbers \
        #.# ##.# #,### ##,### ###,### #.## ##.## ### #### #### ## # \
        Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April June July \
        August September October November December Chicago Boston Texas California Washington \
        well_known long_term high_school vice_president prime_minister chief_executive \
        café naïve résumé Zürich São_Paulo Москва 東京
        """.split(separator: " ").map(String.init)

    /// The most words a sample holds. The made-up words run out at 1,257,984 (2 to 4 of 16 syllables, each
    /// as it is, capitalised or with one of 16 `_…ton` endings), and the last of them take ever more draws to meet.
    public static let maxCount = 1_000_000

    /// The sample's words: ``seedWords`` without repeats, then made-up words until there are `count`, at most
    /// ``maxCount``.
    public static func words(count: Int, seed: UInt64) -> [String] {
        precondition(count <= maxCount, "a sample holds at most \(maxCount) words")
        var seen = Set<String>()
        var words: [String] = []
        for word in seedWords where words.count < count && seen.insert(word).inserted { words.append(word) }
        let syllables: [[UInt8]] = [
            "ka", "ro", "mi", "sen", "ta", "lu", "ber", "do", "vi", "nel", "os", "tri", "pa", "gan", "el", "ur",
        ].map { Array($0.utf8) }
        // A made-up word is known by its draws (how many syllables, which, which form): different draws spell
        // different words (no syllable sequence spells another, `_` and a capital mark the forms), so the draws
        // already met are kept as bits of one code, and only a word drawn for the first time is spelt.
        var drawn = [UInt64](repeating: 0, count: 1 << 23 / 64)
        var random = SplitMix64(seed: seed ^ 0x5EED)
        var spelling: [UInt8] = []
        while words.count < count {
            let parts = 2 + Int(random.next() % 3)
            var code = parts - 2
            for _ in 0..<parts { code = code << 4 | Int(random.next() % UInt64(syllables.count)) }
            code <<= 4 * (4 - parts)
            // The form: 0 as drawn, 1 capitalised, 2 + n ending in `_`, syllable n, `ton`.
            let form: Int =
                switch random.next() % 10 {
                case 0: 1
                case 1: 2 + Int(random.next() % UInt64(syllables.count))
                default: 0
                }
            code = code * 18 + form
            guard drawn[code / 64] & 1 << (code % 64) == 0 else { continue }
            drawn[code / 64] |= 1 << (code % 64)
            spelling.removeAll(keepingCapacity: true)
            let syllableCodes = code / 18
            for part in 0..<parts { spelling += syllables[syllableCodes >> (12 - 4 * part) & 15] }
            if form == 1 { spelling[0] -= 0x20 }  // ASCII lower to upper case
            if form >= 2 { spelling += Array("_".utf8) + syllables[form - 2] + Array("ton".utf8) }
            let word = String(decoding: spelling, as: UTF8.self)
            if !seen.contains(word) { words.append(word) }
        }
        return words
    }

    /// Writes a sample file of `count` words of `dimension` values to `path` (gzipped if it ends in `.gz`), calling
    /// `progress` with the words written after each one (a `progress` that throws stops the write).
    public static func write(
        path: String, count: Int, dimension: Int, seed: UInt64,
        layout: Word2VecWriter.Layout = .binary(newlineAfterVector: false),
        progress: (_ written: Int) throws -> Void = { _ in }
    ) throws {
        let words = words(count: count, seed: seed)
        let writer = try Word2VecWriter(path: path, count: words.count, dimension: dimension, layout: layout)
        var random = SplitMix64(seed: seed)
        for (index, word) in words.enumerated() {
            // GoogleNews values carry few significant bits (e.g. 0.0800781); keep 10 bits of mantissa.
            let vector = (0..<dimension).map { _ in
                Float(bitPattern: random.nextSymmetric(range: 0.25).bitPattern & 0xFFFF_E000)
            }
            try writer.append(word: word, vector: vector)
            try progress(index + 1)
        }
        try writer.close()
    }

    /// The fewest bytes a sample file of `count` words of `dimension` values can take: 4 a value in binary, 2 in
    /// text (a digit and a space), and 1 gzipped (the values carry about 13 bits each, so gzip, which makes them
    /// 2.3 bytes in binary and 3.7 in text, can never make them less than a byte).
    public static func leastBytes(count: Int, dimension: Int, layout: Word2VecWriter.Layout, gzip: Bool) -> Int {
        let values = count * dimension
        if gzip { return values }
        if case .binary = layout { return 4 * values }
        return 2 * values
    }
}
