import CLevelDBEnv
import Foundation

/// The check LevelDB does not make of its MANIFEST's last block.
///
/// The MANIFEST is a log of version edits (LevelDB's `db/log_format.h`): 32 KB blocks of records, each behind a
/// 7-byte header (masked CRC-32C of type and payload, 16-bit length, type). When a record in the file's last, partial
/// block announces more bytes than the file holds, LevelDB takes it for a record a crash cut short: it drops that
/// edit and every later one without a word. A changed bit in a length does the same, and then the tables those edits
/// added are no longer the database's: every key in them reads as missing, and the next writer removes the files.
///
/// A record cut short has lost its end, so no prefix of what follows it matches its checksum; a record whose length
/// was damaged is whole, and one prefix does. That record is reported as damage before LevelDB opens the database.
enum ManifestTail {
    static let blockSize = 32768
    static let headerSize = 7

    /// Throws ``LevelDBError/Kind/corruption`` when the MANIFEST that `CURRENT` names in `directory` has, in its last
    /// block, a record whose length runs past the end of the file though the bytes after its header are a whole
    /// record. Anything else it leaves for LevelDB to judge (a missing or unreadable file, a record cut short).
    static func check(directory: String) throws {
        guard let current = FileManager.default.contents(atPath: directory + "/CURRENT"), current.count < 256,
            let name = String(data: current, encoding: .utf8)?.trimmingCharacters(in: .newlines),
            name.hasPrefix("MANIFEST-"), !name.contains("/"),
            let file = FileHandle(forReadingAtPath: directory + "/" + name)
        else { return }
        defer { try? file.close() }
        guard let size = try? file.seekToEnd(), size % UInt64(blockSize) != 0 else { return }
        let blockStart = size - size % UInt64(blockSize)
        guard (try? file.seek(toOffset: blockStart)) != nil, let data = try? file.readToEnd() else { return }
        let block = [UInt8](data)
        var offset = 0
        while block.count - offset >= headerSize {
            let length = Int(block[offset + 4]) | Int(block[offset + 5]) << 8
            let type = block[offset + 6]
            // Zeros where the file was extended but not written: LevelDB skips the rest of the block.
            if type == 0 && length == 0 { return }
            if headerSize + length <= block.count - offset {
                offset += headerSize + length
                continue
            }
            let stored = block[offset..<(offset + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            // The payload's checksum covers the type byte, then the payload: try every length up to the end.
            var crc = w2v_crc32c(0, [type], 1, 0)
            var payload = 0
            while mask(crc) != stored {
                let next = offset + headerSize + payload
                guard next < block.count else { return }
                crc = block.withUnsafeBufferPointer { w2v_crc32c(crc, $0.baseAddress! + next, 1, 0) }
                payload += 1
            }
            throw LevelDBError(
                kind: .corruption,
                message: "Corruption: \(directory)/\(name): the record at offset \(blockStart + UInt64(offset)) says "
                    + "\(length) bytes, past the end of the file, but its first \(payload) bytes are the whole record: "
                    + "its length is damaged (LevelDB would drop it and every later edit, and the tables they added)")
        }
    }

    /// A CRC-32C as LevelDB stores it (`crc32c::Mask`).
    static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }
}
