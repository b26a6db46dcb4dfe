// SafeTensors: reads and writes the safetensors format (8-byte header length, JSON header, raw little-endian data).
import Foundation

/// A `.safetensors` file: tensors by name with their dtype, shape and bytes, plus optional string metadata.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`, then the data buffer
/// (offsets relative to its start). Every entry is checked when the file is opened: offsets inside the buffer,
/// no overlaps, no holes, sizes that match dtype × shape. BF16 tensors are read as float32 (exactly).
public struct SafeTensorsFile: ArraySource {
  /// One tensor's header entry.
  public struct Entry: Equatable, Sendable {
    public var name: String
    /// The safetensors dtype string (`F32`, `BF16`, `I64`, …).
    public var dtype: String
    public var shape: [Int]
    /// Byte range in the data buffer.
    public var begin: Int
    public var end: Int
  }

  public let path: String
  /// Entries in data order.
  public let entries: [Entry]
  /// The `__metadata__` strings.
  public let metadata: [String: String]
  /// Tensor names in data order.
  public var keys: [String] { entries.map(\.name) }

  private let bytes: Data
  private let dataStart: Int
  private let byName: [String: Int]

  /// The dtypes this reader knows, with their item sizes and the NumPy type they are held as (`BF16` → float32).
  static let dtypes: [String: (size: Int, npy: NpyDType)] = [
    "F64": (8, .float64), "F32": (4, .float32), "F16": (2, .float16), "BF16": (2, .float32),
    "I64": (8, .int64), "I32": (4, .int32), "I16": (2, .int16), "I8": (1, .int8),
    "U64": (8, .uint64), "U32": (4, .uint32), "U16": (2, .uint16), "U8": (1, .uint8), "BOOL": (1, .bool),
  ]

  /// Opens and validates `url`; any inconsistency is one `MoeFormatError` naming the file (and the tensor).
  public init(url: URL) throws {
    let file = url.path
    guard let data = FileManager.default.contents(atPath: file) else {
      throw MoeFormatError(.io, file: file, "cannot read the file")
    }
    try self.init(data: data, path: file)
  }

  /// Parses a whole file held in memory; `path` is used in messages.
  public init(data: Data, path file: String) throws {
    func fail(_ kind: MoeFormatError.Kind, key: String? = nil, _ message: String) -> MoeFormatError {
      MoeFormatError(kind, file: file, key: key, message)
    }
    guard data.count >= 8 else {
      throw fail(.truncated, "file of \(data.count) bytes; expected at least the 8-byte header length of a .safetensors file")
    }
    let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard length >= 2, length <= UInt64(data.count - 8) else {
      throw fail(length < 2 ? .badHeader : .truncated, "header length \(length) does not fit a file of \(data.count) bytes (expected 2 ≤ length ≤ \(data.count - 8))")
    }
    let headerEnd = 8 + Int(length)
    let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + headerEnd))
    guard headerBytes.first == UInt8(ascii: "{"),
      let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any]
    else {
      throw fail(.badHeader, "the \(length)-byte header is not a JSON object")
    }
    let bufferLength = data.count - headerEnd
    var entries: [Entry] = []
    var metadata: [String: String] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        guard let m = value as? [String: Any], let strings = m as? [String: String] else {
          throw fail(.badHeader, key: name, "expected an object of strings")
        }
        metadata = strings
        continue
      }
      guard let info = value as? [String: Any] else { throw fail(.badHeader, key: name, "expected an object with dtype, shape, data_offsets") }
      guard let dtype = info["dtype"] as? String else { throw fail(.badHeader, key: name, "no \"dtype\" string") }
      guard let known = Self.dtypes[dtype] else {
        throw fail(.unsupportedDType, key: name, "unknown dtype '\(dtype)'; expected one of \(Self.dtypes.keys.sorted().joined(separator: " "))")
      }
      guard let shape = Self.integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
        throw fail(.badHeader, key: name, "\"shape\" is not a list of non-negative integers")
      }
      guard let offsets = Self.integers(info["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
        throw fail(.badHeader, key: name, "\"data_offsets\" is not [begin, end] with 0 ≤ begin ≤ end")
      }
      guard offsets[1] <= bufferLength else {
        throw fail(.truncated, key: name, "data_offsets [\(offsets[0]), \(offsets[1])] run past the \(bufferLength)-byte data buffer (file truncated or offsets wrong)")
      }
      var expected = known.size
      for d in shape {
        let (p, overflow) = expected.multipliedReportingOverflow(by: d)
        guard !overflow else { throw fail(.invalidArray, key: name, "shape \(shape) is too large") }
        expected = p
      }
      guard offsets[1] - offsets[0] == expected else {
        throw fail(.invalidArray, key: name, "data_offsets [\(offsets[0]), \(offsets[1])] hold \(offsets[1] - offsets[0]) bytes; dtype \(dtype) shape \(shape) needs \(expected)")
      }
      entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
    }
    entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    var covered = 0
    for (i, e) in entries.enumerated() {
      if e.begin < covered {
        let other = entries[..<i].last { $0.end > e.begin }?.name ?? entries[i - 1].name
        throw fail(.invalidArray, key: e.name, "data_offsets [\(e.begin), \(e.end)] overlap those of '\(other)'")
      }
      guard e.begin == covered else {
        throw fail(.invalidArray, key: e.name, "data_offsets begin at \(e.begin) but the previous tensor ends at \(covered); expected no hole in the data buffer")
      }
      covered = e.end
    }
    guard covered == bufferLength else {
      throw fail(.trailingData, "the tensors cover \(covered) bytes of the \(bufferLength)-byte data buffer; expected the whole buffer")
    }
    self.path = file
    self.entries = entries
    self.metadata = metadata
    self.bytes = data
    self.dataStart = headerEnd
    self.byName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
  }

  /// The entry named `key`, if present.
  public func entry(_ key: String) -> Entry? { byName[key].map { entries[$0] } }

  /// Reads one tensor (BF16 widened to float32).
  public func array(_ key: String) throws -> NpyArray {
    guard let e = entry(key) else { throw MoeFormatError(.keyNotFound, file: path, key: key, "not in the file") }
    let start = bytes.startIndex + dataStart
    var raw = [UInt8](bytes[(start + e.begin)..<(start + e.end)])
    if e.dtype == "BF16" {
      var wide = [UInt8](repeating: 0, count: raw.count * 2)
      for i in 0..<(raw.count / 2) {
        wide[4 * i + 2] = raw[2 * i]
        wide[4 * i + 3] = raw[2 * i + 1]
      }
      raw = wide
    }
    do { return try NpyArray(dtype: Self.dtypes[e.dtype]!.npy, shape: e.shape, data: raw) } catch let error as MoeFormatError {
      throw error.located(file: path, key: key)
    }
  }

  /// The safetensors dtype string of a NumPy type.
  public static func dtypeName(_ t: NpyDType) -> String {
    switch t {
    case .float16: return "F16"
    case .float32: return "F32"
    case .float64: return "F64"
    case .int8: return "I8"
    case .int16: return "I16"
    case .int32: return "I32"
    case .int64: return "I64"
    case .uint8: return "U8"
    case .uint16: return "U16"
    case .uint32: return "U32"
    case .uint64: return "U64"
    case .bool: return "BOOL"
    }
  }

  /// The bytes of a `.safetensors` file holding `tensors` in the given order, with `metadata` as `__metadata__`.
  /// The header is padded with spaces to a multiple of 8 bytes, as the `safetensors` package writes it.
  public static func encode(_ tensors: [(key: String, array: NpyArray)], metadata: [String: String] = [:]) throws -> Data {
    var seen = Set<String>()
    var header: [String: Any] = [:]
    var offset = 0
    for (key, array) in tensors {
      guard key != "__metadata__", seen.insert(key).inserted else {
        throw MoeFormatError(.invalidArray, key: key, "duplicate or reserved tensor name")
      }
      header[key] = ["dtype": dtypeName(array.dtype), "shape": array.shape, "data_offsets": [offset, offset + array.data.count]] as [String: Any]
      offset += array.data.count
    }
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var out = Data(capacity: 8 + json.count + offset)
    var length = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
    out.append(json)
    for (_, array) in tensors { out.append(contentsOf: array.data) }
    return out
  }

  /// Writes `tensors` to `url` atomically.
  public static func write(_ tensors: [(key: String, array: NpyArray)], metadata: [String: String] = [:], to url: URL) throws {
    let data: Data
    do { data = try encode(tensors, metadata: metadata) } catch let e as MoeFormatError { throw e.located(file: url.path) }
    try AtomicFile.write(data, to: url)
  }

  /// A JSON list of integers (numbers without fractions), or nil.
  private static func integers(_ value: Any?) -> [Int]? {
    guard let list = value as? [Any] else { return nil }
    var out: [Int] = []
    for v in list {
      guard let i = v as? Int else { return nil }
      out.append(i)
    }
    return out
  }
}
