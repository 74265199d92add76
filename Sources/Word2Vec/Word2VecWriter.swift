import Support

/// Writes vectors in word2vec binary or text format (gzipped when the path ends in `.gz`).
public final class Word2VecWriter {
    /// How vectors are laid out in the file.
    public enum Layout: Sendable {
        /// Binary; `newlineAfterVector` as the word2vec C tool writes (GoogleNews and gensim do not).
        case binary(newlineAfterVector: Bool)
        /// word2vec text (with the header), as fastText `.vec`.
        case text
        /// GloVe: text without a header.
        case glove
    }

    private let output: OutputFile
    private let layout: Layout
    public let dimension: Int

    /// Creates the file and writes the header.
    public init(path: String, count: Int, dimension: Int, layout: Layout, gzip: Bool? = nil) throws {
        output = try OutputFile(path: path, gzip: gzip ?? path.hasSuffix(".gz"))
        self.layout = layout
        self.dimension = dimension
        if case .glove = layout { return }
        try output.write("\(count) \(dimension)\n")
    }

    /// Appends one word and its vector (`dimension` values).
    public func append(word: [UInt8], vector: [Float]) throws {
        precondition(vector.count == dimension, "vector has \(vector.count) values, expected \(dimension)")
        switch layout {
        case .binary(let newline):
            var bytes = word
            bytes.append(0x20)
            bytes.reserveCapacity(bytes.count + 4 * dimension + 1)
            Float32Bytes.append(vector, to: &bytes)
            if newline { bytes.append(0x0A) }
            try output.write(bytes)
        case .text, .glove:
            var line = word
            for value in vector { line.append(contentsOf: " \(value)".utf8) }
            line.append(0x0A)
            try output.write(line)
        }
    }

    public func append(word: String, vector: [Float]) throws {
        try append(word: Array(word.utf8), vector: vector)
    }

    /// Writes any buffered data and closes the gzip member.
    public func close() throws {
        try output.close()
    }
}
