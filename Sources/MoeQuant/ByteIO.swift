// ByteIO: little-endian writers and a bounds-checked reader over payload bytes.

/// Appends little-endian fields to a byte array.
struct ByteWriter {
  var bytes: [UInt8] = []

  init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

  mutating func u16(_ v: UInt16) {
    bytes.append(UInt8(v & 0xFF))
    bytes.append(UInt8(v >> 8))
  }

  mutating func u32(_ v: UInt32) {
    for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((v >> UInt32(s)) & 0xFF)) }
  }

  mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
  mutating func f32(_ v: Float) { u32(v.bitPattern) }
  mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
}

/// Reads little-endian fields; every read past the end throws `QuantError.truncated`.
struct ByteReader {
  let bytes: [UInt8]
  var position = 0
  let context: String

  init(_ bytes: [UInt8], context: String) {
    self.bytes = bytes
    self.context = context
  }

  var remaining: Int { bytes.count - position }

  mutating func need(_ n: Int) throws {
    guard n >= 0, n <= remaining else {
      throw QuantError.truncated(context: context, needed: position + max(n, 0), available: bytes.count)
    }
  }

  mutating func u16() throws -> UInt16 {
    try need(2)
    defer { position += 2 }
    return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
  }

  mutating func u32() throws -> UInt32 {
    try need(4)
    var v: UInt32 = 0
    for i in 0..<4 { v |= UInt32(bytes[position + i]) << UInt32(8 * i) }
    position += 4
    return v
  }

  mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
  mutating func f32() throws -> Float { Float(bitPattern: try u32()) }

  mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
    try need(n)
    defer { position += n }
    return bytes[position..<position + n]
  }
}
