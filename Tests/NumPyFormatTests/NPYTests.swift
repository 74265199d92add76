import NumPyFormat
import Support
import Testing

@Suite struct NPYTests {
    /// Shapes and how NumPy writes them in a header (a 1-tuple keeps its comma), stated independently.
    @Test(arguments: [
        ([300], "(300,)"), ([2, 300], "(2, 300)"), ([7], "(7,)"), ([1000, 3], "(1000, 3)"), ([0, 5], "(0, 5)"),
        ([], "()"),
    ])
    func headerIsAlignedAndDescribesTheShape(shape: [Int], expectedShape: String) {
        let header = NPY.header(type: .float32, shape: shape)
        #expect(header.count % 64 == 0)
        #expect(Array(header.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = Int(header[8]) | Int(header[9]) << 8
        #expect(length + 10 == header.count)
        let text = String(decoding: header[10...], as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        #expect(text.contains("'shape': \(expectedShape)"))
        #expect(text.contains("'descr': '<f4'"))
        #expect(text.contains("'fortran_order': False"))
        // As NumPy writes it: the dictionary, then spaces and a newline to the next multiple of 64 bytes.
        let dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': \(expectedShape), }"
        #expect(text.hasPrefix(dictionary) && text.dropFirst(dictionary.count).dropLast().allSatisfy { $0 == " " })
        #expect(header.count == (10 + dictionary.utf8.count + 1 + 63) / 64 * 64)
    }

    @Test func fileAppendsTheDataAfterTheHeader() {
        let values: [Int32] = [1, -2, 3]
        let file = values.withUnsafeBytes { NPY.file(type: .int32, shape: [3], data: $0) }
        let header = NPY.header(type: .int32, shape: [3])
        #expect(file.count == header.count + 12)
        #expect(Array(file[header.count..<(header.count + 4)]) == [1, 0, 0, 0])
        #expect(String(decoding: header, as: UTF8.self).contains("'<i4'"))
    }
}

@Suite struct NPZTests {
    @Test func anArchiveOfStoredMembers() {
        let x = [Float(1), 2].withUnsafeBytes { NPY.file(type: .float32, shape: [2], data: $0) }
        let y = [Int64(7)].withUnsafeBytes { NPY.file(type: .int64, shape: [1], data: $0) }
        let archive = NPZ.archive(
            [NPZ.Member(name: "x", type: .float32, shape: [2]), NPZ.Member(name: "y", type: .int64, shape: [1])],
            data: [[Float(1), 2].withUnsafeBytes { Array($0) }, [Int64(7)].withUnsafeBytes { Array($0) }])
        func uint32(_ offset: Int) -> UInt32 {
            archive[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        func uint16(_ offset: Int) -> Int { Int(archive[offset]) | Int(archive[offset + 1]) << 8 }
        #expect(uint32(0) == 0x0403_4B50)  // first local header
        #expect(Array(archive[30..<35]) == Array("x.npy".utf8))
        #expect(Array(archive[35..<(35 + x.count)]) == x)  // stored, not compressed
        let end = archive.count - 22
        #expect(uint32(end) == 0x0605_4B50)
        #expect(uint16(end + 10) == 2)  // two members
        let central = Int(uint32(end + 16))
        #expect(uint32(central) == 0x0201_4B50)
        #expect(Int(uint32(central + 20)) == x.count)  // compressed size = size
        let secondLocal = 30 + 5 + x.count
        #expect(uint32(secondLocal) == 0x0403_4B50)
        #expect(Array(archive[(secondLocal + 30)..<(secondLocal + 35)]) == Array("y.npy".utf8))
        #expect(Array(archive[(secondLocal + 35)..<(secondLocal + 35 + y.count)]) == y)
    }
}
