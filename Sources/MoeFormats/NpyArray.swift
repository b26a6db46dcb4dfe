// NpyArray: an n-dimensional numpy array as dtype + shape + little-endian C-order bytes.
import Foundation
import MoeKernels

/// An n-dimensional array as numpy stores it: element type, shape and raw bytes.
///
/// `data` is little-endian and in C (row-major) order, whatever the source file used;
/// its length is `count * dtype.itemSize`. A scalar has shape `[]` and one element.
public struct NpyArray: Equatable, Sendable {
  /// The element type.
  public var dtype: NpyDType
  /// The dimensions; `[]` for a scalar.
  public var shape: [Int]
  /// The elements, little-endian, C order.
  public var data: [UInt8]

  /// Wraps raw bytes, checking that their length matches `dtype` and `shape`.
  ///
  /// - Throws: `.invalidArray` when a dimension is negative or the length is wrong.
  public init(dtype: NpyDType, shape: [Int], data: [UInt8]) throws {
    let expected = try NpyArray.byteCount(dtype: dtype, shape: shape)
    guard data.count == expected else {
      throw MoeFormatError(
        .invalidArray,
        "\(data.count) data bytes for dtype \(dtype.descr) shape \(NpyArray.format(shape)); "
          + "expected \(expected)")
    }
    self.dtype = dtype
    self.shape = shape
    self.data = data
  }

  /// A float32 array of `floats` with the given shape.
  ///
  /// - Precondition: `floats.count` is the product of `shape` (1 for a scalar).
  public init(floats: [Float], shape: [Int]) {
    precondition(
      shape.allSatisfy { $0 >= 0 } && floats.count == shape.reduce(1, *),
      "NpyArray(floats:shape:): \(floats.count) values do not fill shape \(shape)")
    self.dtype = .float32
    self.shape = shape
    self.data = floats.withUnsafeBufferPointer { buffer in
      var bytes = [UInt8](repeating: 0, count: buffer.count * 4)
      for (index, value) in buffer.enumerated() {
        NpyArray.storeLittleEndian(value.bitPattern, into: &bytes, at: index * 4)
      }
      return bytes
    }
  }

  /// An int64 array of `values` with the given shape.
  ///
  /// - Precondition: `values.count` is the product of `shape` (1 for a scalar).
  public init(int64s values: [Int64], shape: [Int]) {
    precondition(
      shape.allSatisfy { $0 >= 0 } && values.count == shape.reduce(1, *),
      "NpyArray(int64s:shape:): \(values.count) values do not fill shape \(shape)")
    self.dtype = .int64
    self.shape = shape
    var bytes = [UInt8](repeating: 0, count: values.count * 8)
    for (index, value) in values.enumerated() {
      NpyArray.storeLittleEndian(UInt64(bitPattern: value), into: &bytes, at: index * 8)
    }
    self.data = bytes
  }

  /// The number of elements: the product of `shape`, 1 for a scalar.
  public var count: Int { shape.reduce(1, *) }

  /// The elements converted to `Float` (float16 exactly, wider types rounded to nearest,
  /// bool as 0 or 1), in C order.
  ///
  /// - Throws: `.invalidArray` when `data` does not hold `count` elements.
  public func floats() throws -> [Float] {
    try checkLength()
    let n = count
    return data.withUnsafeBytes { raw -> [Float] in
      func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
      }
      switch dtype {
      case .float16: return (0..<n).map { floatFromHalfBits(load(UInt16.self, $0)) }
      case .float32: return (0..<n).map { Float(bitPattern: load(UInt32.self, $0)) }
      case .float64: return (0..<n).map { Float(Double(bitPattern: load(UInt64.self, $0))) }
      case .int8: return (0..<n).map { Float(load(Int8.self, $0)) }
      case .int16: return (0..<n).map { Float(load(Int16.self, $0)) }
      case .int32: return (0..<n).map { Float(load(Int32.self, $0)) }
      case .int64: return (0..<n).map { Float(load(Int64.self, $0)) }
      case .uint8: return (0..<n).map { Float(load(UInt8.self, $0)) }
      case .uint16: return (0..<n).map { Float(load(UInt16.self, $0)) }
      case .uint32: return (0..<n).map { Float(load(UInt32.self, $0)) }
      case .uint64: return (0..<n).map { Float(load(UInt64.self, $0)) }
      case .bool: return (0..<n).map { load(UInt8.self, $0) == 0 ? 0 : 1 }
      }
    }
  }

  /// The elements of an integer or bool array as `Int64`, in C order.
  ///
  /// - Throws: `.invalidArray` for float arrays and uint64 values above `Int64.max`.
  public func int64s() throws -> [Int64] {
    try checkLength()
    let n = count
    return try data.withUnsafeBytes { raw -> [Int64] in
      func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> Int64? {
        Int64(
          exactly: T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)))
      }
      let values: [Int64?]
      switch dtype {
      case .float16, .float32, .float64:
        throw MoeFormatError(.invalidArray, "int64s() of a \(dtype.descr) array; expected an integer or bool dtype")
      case .int8: values = (0..<n).map { load(Int8.self, $0) }
      case .int16: values = (0..<n).map { load(Int16.self, $0) }
      case .int32: values = (0..<n).map { load(Int32.self, $0) }
      case .int64: values = (0..<n).map { load(Int64.self, $0) }
      case .uint8, .bool: values = (0..<n).map { load(UInt8.self, $0) }
      case .uint16: values = (0..<n).map { load(UInt16.self, $0) }
      case .uint32: values = (0..<n).map { load(UInt32.self, $0) }
      case .uint64: values = (0..<n).map { load(UInt64.self, $0) }
      }
      return try values.map {
        guard let value = $0 else {
          throw MoeFormatError(.invalidArray, "uint64 value above Int64.max; expected values that fit Int64")
        }
        return value
      }
    }
  }

  // MARK: - Helpers

  /// Bytes needed for `shape` of `dtype`, checking for negative dimensions and overflow.
  static func byteCount(dtype: NpyDType, shape: [Int]) throws -> Int {
    var total = dtype.itemSize
    for dim in shape {
      guard dim >= 0 else {
        throw MoeFormatError(.invalidArray, "negative dimension in shape \(format(shape)); expected sizes >= 0")
      }
      let (product, overflow) = total.multipliedReportingOverflow(by: dim)
      guard !overflow else {
        throw MoeFormatError(.invalidArray, "shape \(format(shape)) is too large; expected fewer than 2^63 bytes")
      }
      total = product
    }
    return total
  }

  /// A shape the way Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
  static func format(_ shape: [Int]) -> String {
    shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
  }

  private func checkLength() throws {
    let expected = try NpyArray.byteCount(dtype: dtype, shape: shape)
    guard data.count == expected else {
      throw MoeFormatError(
        .invalidArray,
        "\(data.count) data bytes for dtype \(dtype.descr) shape \(NpyArray.format(shape)); expected \(expected)")
    }
  }

  private static func storeLittleEndian<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
    var little = value.littleEndian
    withUnsafeBytes(of: &little) { source in
      for index in 0..<source.count { bytes[offset + index] = source[index] }
    }
  }
}
