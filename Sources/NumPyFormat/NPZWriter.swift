import Support

/// Writes NumPy `.npz` archives: a ZIP file of `.npy` members, stored uncompressed, which `np.load` reads.
public enum NPZ {
    /// One named array, already in `.npy` form.
    public struct Member {
        public var name: String
        public var npy: [UInt8]

        public init(name: String, npy: [UInt8]) {
            self.name = name
            self.npy = npy
        }
    }

    /// The archive holding `members` as `NAME.npy` (ZIP "stored" entries, no ZIP64: each member under 4 GB).
    public static func archive(_ members: [Member]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(members.reduce(22) { $0 + $1.npy.count + 2 * ($1.name.utf8.count + 4) + 76 })
        var central: [UInt8] = []
        for member in members {
            let name = Array((member.name + ".npy").utf8)
            let crc = member.npy.withUnsafeBytes { CRC32.checksum($0) }
            let size = UInt32(member.npy.count)
            let offset = UInt32(output.count)
            // Local file header.
            output.append(littleEndian: UInt32(0x0403_4B50))
            output.append(littleEndian: UInt16(20))  // version needed
            output.append(littleEndian: UInt16(0))  // flags
            output.append(littleEndian: UInt16(0))  // stored
            output.append(littleEndian: UInt16(0))  // time
            output.append(littleEndian: UInt16(0x21))  // date: 1980-01-01
            output.append(littleEndian: crc)
            output.append(littleEndian: size)
            output.append(littleEndian: size)
            output.append(littleEndian: UInt16(name.count))
            output.append(littleEndian: UInt16(0))
            output.append(contentsOf: name)
            output.append(contentsOf: member.npy)
            // Central directory entry.
            central.append(littleEndian: UInt32(0x0201_4B50))
            central.append(littleEndian: UInt16(20))  // made by
            central.append(littleEndian: UInt16(20))  // needed
            central.append(littleEndian: UInt16(0))
            central.append(littleEndian: UInt16(0))
            central.append(littleEndian: UInt16(0))
            central.append(littleEndian: UInt16(0x21))
            central.append(littleEndian: crc)
            central.append(littleEndian: size)
            central.append(littleEndian: size)
            central.append(littleEndian: UInt16(name.count))
            central.append(littleEndian: UInt16(0))  // extra
            central.append(littleEndian: UInt16(0))  // comment
            central.append(littleEndian: UInt16(0))  // disk
            central.append(littleEndian: UInt16(0))  // internal attributes
            central.append(littleEndian: UInt32(0))  // external attributes
            central.append(littleEndian: offset)
            central.append(contentsOf: name)
        }
        let centralOffset = UInt32(output.count)
        output.append(contentsOf: central)
        output.append(littleEndian: UInt32(0x0605_4B50))
        output.append(littleEndian: UInt16(0))
        output.append(littleEndian: UInt16(0))
        output.append(littleEndian: UInt16(members.count))
        output.append(littleEndian: UInt16(members.count))
        output.append(littleEndian: UInt32(central.count))
        output.append(littleEndian: centralOffset)
        output.append(littleEndian: UInt16(0))
        return output
    }
}

extension [UInt8] {
    mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
