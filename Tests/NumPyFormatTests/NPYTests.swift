import NumPyFormat
import Testing

@Suite struct NPYTests {
    @Test(arguments: [[300], [2, 300], [7], [1000, 3], [0, 5]])
    func headerIsAlignedAndDescribesTheShape(shape: [Int]) {
        let header = NPY.header(type: .float32, shape: shape)
        #expect(header.count % 64 == 0)
        #expect(Array(header.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = Int(header[8]) | Int(header[9]) << 8
        #expect(length + 10 == header.count)
        let text = String(decoding: header[10...], as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        let expectedShape = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        #expect(text.contains("'shape': \(expectedShape)"))
        #expect(text.contains("'descr': '<f4'"))
        #expect(text.contains("'fortran_order': False"))
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
