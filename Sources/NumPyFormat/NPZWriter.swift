import Support

/// Writes NumPy `.npz` archives: a ZIP file of `.npy` members, stored uncompressed, as `np.savez` writes them.
public enum NPZ {
    /// One array of an archive, before its bytes exist.
    public struct Member: Sendable, Equatable {
        /// The array's name; the member is `NAME.npy`.
        public var name: String
        public var type: ElementType
        public var shape: [Int]

        public init(name: String, type: ElementType, shape: [Int]) {
            self.name = name
            self.type = type
            self.shape = shape
        }

        var fileName: [UInt8] { Array((name + ".npy").utf8) }
        var dataSize: Int { shape.reduce(1, *) * type.byteCount }
        var npySize: Int { NPY.header(type: type, shape: shape).count + dataSize }
    }

    /// The archive's size in bytes.
    public static func size(_ members: [Member]) -> Int {
        members.reduce(22) { $0 + 30 + 46 + 2 * $1.fileName.count + $1.npySize }
    }

    /// Writes the archive into `out` (exactly ``size(_:)`` bytes): headers first, then `fill` writes each array's
    /// data into the buffer it is given (one per member), then the CRC-32s and the central directory. No ZIP64: each
    /// member must be under 4 GB.
    public static func write(
        _ members: [Member], into out: UnsafeMutableRawBufferPointer,
        fill: ([UnsafeMutableRawBufferPointer]) throws -> Void
    ) rethrows {
        var position = 0
        func put<T: FixedWidthInteger>(_ value: T) {
            out.storeBytes(of: value.littleEndian, toByteOffset: position, as: T.self)
            position += MemoryLayout<T>.size
        }
        func put(_ bytes: [UInt8]) {
            UnsafeMutableRawBufferPointer(rebasing: out[position..<(position + bytes.count)]).copyBytes(from: bytes)
            position += bytes.count
        }
        // Each member's name and header, made once.
        let names = members.map(\.fileName)
        let headers = members.map { NPY.header(type: $0.type, shape: $0.shape) }
        let npySizes = zip(headers, members).map { $0.count + $1.dataSize }
        var starts: [(local: Int, npy: Int)] = []
        var destinations: [UnsafeMutableRawBufferPointer] = []
        for (index, member) in members.enumerated() {
            starts.append((position, 0))
            put(UInt32(0x0403_4B50))
            put(UInt16(20))  // version needed
            put(UInt16(0))  // flags
            put(UInt16(0))  // stored
            put(UInt16(0))  // time
            put(UInt16(0x21))  // date: 1980-01-01
            put(UInt32(0))  // CRC-32, written once the data is in place
            put(UInt32(npySizes[index]))
            put(UInt32(npySizes[index]))
            put(UInt16(names[index].count))
            put(UInt16(0))
            put(names[index])
            starts[starts.count - 1].npy = position
            put(headers[index])
            destinations.append(UnsafeMutableRawBufferPointer(rebasing: out[position..<(position + member.dataSize)]))
            position += member.dataSize
        }
        try fill(destinations)
        let centralStart = position
        for (index, start) in starts.enumerated() {
            let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: out[start.npy..<(start.npy + npySizes[index])]))
            out.storeBytes(of: crc.littleEndian, toByteOffset: start.local + 14, as: UInt32.self)
            put(UInt32(0x0201_4B50))
            put(UInt16(20))  // made by
            put(UInt16(20))  // needed
            put(UInt16(0))
            put(UInt16(0))
            put(UInt16(0))
            put(UInt16(0x21))
            put(crc)
            put(UInt32(npySizes[index]))
            put(UInt32(npySizes[index]))
            put(UInt16(names[index].count))
            put(UInt16(0))  // extra
            put(UInt16(0))  // comment
            put(UInt16(0))  // disk
            put(UInt16(0))  // internal attributes
            put(UInt32(0))  // external attributes
            put(UInt32(start.local))
            put(names[index])
        }
        let centralSize = position - centralStart
        put(UInt32(0x0605_4B50))
        put(UInt16(0))
        put(UInt16(0))
        put(UInt16(members.count))
        put(UInt16(members.count))
        put(UInt32(centralSize))
        put(UInt32(centralStart))
        put(UInt16(0))
    }

    /// The archive of `members` holding `data` (one little-endian, C-ordered byte array per member).
    public static func archive(_ members: [Member], data: [[UInt8]]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size(members))
        bytes.withUnsafeMutableBytes { out in
            write(members, into: out) { destinations in
                for (destination, source) in zip(destinations, data) { destination.copyBytes(from: source) }
            }
        }
        return bytes
    }
}
