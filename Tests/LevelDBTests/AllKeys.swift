import LevelDB

/// Every key, in the database's order, read with checksums verified; throws what the iteration met.
func allKeys(_ database: Database) throws -> [[UInt8]] {
    let iterator = try database.makeIterator()
    iterator.seekToFirst()
    var keys: [[UInt8]] = []
    while iterator.isValid {
        keys.append(try iterator.key())
        iterator.next()
    }
    try iterator.checkError()
    return keys
}
