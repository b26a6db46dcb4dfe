// NpyHeader: parsing and writing the Python-literal header dictionary of the .npy format.

/// The fields of an `.npy` header: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
struct NpyHeader: Equatable {
  var dtype: NpyDType
  var bigEndian: Bool
  var fortranOrder: Bool
  var shape: [Int]

  /// numpy leaves room for the first axis to grow to this many digits (`GROWTH_AXIS_MAX_DIGITS`).
  static let growthAxisMaxDigits = 21

  /// Parses the header text (without magic, length or trailing padding concerns).
  ///
  /// - Throws: `.badHeader` for malformed text or missing keys; dtype errors from `NpyDType.parse`.
  static func parse(_ text: String) throws -> NpyHeader {
    var parser = PythonLiteralParser(text)
    let dict = try parser.parseDictionary()
    guard case .string(let descr)? = dict["descr"] else {
      if let value = dict["descr"] {
        throw MoeFormatError(
          .unsupportedDType, "unsupported structured dtype \(value); expected a simple descr like '<f4'")
      }
      throw MoeFormatError(.badHeader, "header has no 'descr'; expected keys 'descr', 'fortran_order', 'shape'")
    }
    guard case .bool(let fortranOrder)? = dict["fortran_order"] else {
      throw MoeFormatError(.badHeader, "header has no boolean 'fortran_order'; expected True or False")
    }
    guard case .ints(let shape)? = dict["shape"] else {
      throw MoeFormatError(.badHeader, "header has no tuple 'shape'; expected a tuple of ints like (2, 3)")
    }
    let (dtype, bigEndian) = try NpyDType.parse(descr: descr)
    return NpyHeader(dtype: dtype, bigEndian: bigEndian, fortranOrder: fortranOrder, shape: shape)
  }

  /// The dictionary text numpy writes for a little-endian C-order array, growth padding included.
  static func text(dtype: NpyDType, shape: [Int]) -> String {
    let dict = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': \(NpyArray.format(shape)), }"
    guard let first = shape.first else { return dict }
    return dict + String(repeating: " ", count: max(0, growthAxisMaxDigits - String(first).count))
  }
}

/// A value of the small Python literal subset found in `.npy` headers.
enum PythonLiteral: Equatable, CustomStringConvertible {
  case string(String)
  case bool(Bool)
  case ints([Int])
  case other(String)

  var description: String {
    switch self {
    case .string(let text): return "'\(text)'"
    case .bool(let value): return value ? "True" : "False"
    case .ints(let values): return NpyArray.format(values)
    case .other(let text): return text
    }
  }
}

/// A recursive-descent parser for `{'key': value, ...}` with string, bool, int-tuple values;
/// lists, `None` and nested values are kept as `.other` text.
struct PythonLiteralParser {
  private let chars: [Character]
  private var position = 0

  init(_ text: String) { chars = Array(text) }

  mutating func parseDictionary() throws -> [String: PythonLiteral] {
    try expect("{")
    var result: [String: PythonLiteral] = [:]
    while true {
      skipSpaces()
      if peek() == "}" { position += 1; break }
      guard case .string(let key) = try parseValue() else { throw error("expected a quoted key") }
      try expect(":")
      result[key] = try parseValue()
      skipSpaces()
      if peek() == "," { position += 1; continue }
      try expect("}")
      break
    }
    skipSpaces()
    guard position == chars.count else { throw error("unexpected text after the dictionary") }
    return result
  }

  private mutating func parseValue() throws -> PythonLiteral {
    skipSpaces()
    guard let first = peek() else { throw error("unexpected end of header") }
    switch first {
    case "'", "\"": return .string(try parseString())
    case "(": return try parseTuple()
    case "[": return .other(try skipBracketed())
    default:
      let word = readWord()
      switch word {
      case "True": return .bool(true)
      case "False": return .bool(false)
      case "": throw error("unexpected character '\(first)'")
      default:
        if let value = PythonLiteralParser.int(word) { return .ints([value]) }
        return .other(word)
      }
    }
  }

  private mutating func parseTuple() throws -> PythonLiteral {
    try expect("(")
    var values: [Int] = []
    while true {
      skipSpaces()
      if peek() == ")" { position += 1; break }
      let word = readWord()
      guard let value = PythonLiteralParser.int(word) else { throw error("expected an integer in the shape tuple") }
      values.append(value)
      skipSpaces()
      if peek() == "," { position += 1; continue }
      try expect(")")
      break
    }
    return .ints(values)
  }

  private mutating func parseString() throws -> String {
    let quote = chars[position]
    position += 1
    var text = ""
    while let c = peek() {
      position += 1
      if c == quote { return text }
      if c == "\\", let escaped = peek() {
        position += 1
        text.append(escaped)
      } else {
        text.append(c)
      }
    }
    throw error("unterminated string")
  }

  /// Skips a `[...]` value (a structured dtype) and returns its text.
  private mutating func skipBracketed() throws -> String {
    let start = position
    var depth = 0
    while let c = peek() {
      position += 1
      if c == "[" || c == "(" { depth += 1 }
      if c == "]" || c == ")" { depth -= 1 }
      if c == "'" || c == "\"" {
        position -= 1
        _ = try parseString()
      }
      if depth == 0 { return String(chars[start..<position]) }
    }
    throw error("unterminated list")
  }

  private mutating func readWord() -> String {
    let start = position
    while let c = peek(), c.isLetter || c.isNumber || c == "_" || c == "-" || c == "+" { position += 1 }
    return String(chars[start..<position])
  }

  /// A Python int literal, allowing Python 2's `L` suffix as in `(2L, 3L)`.
  private static func int(_ word: String) -> Int? {
    Int(word.hasSuffix("L") ? String(word.dropLast()) : word)
  }

  private func peek() -> Character? { position < chars.count ? chars[position] : nil }

  private mutating func skipSpaces() {
    while let c = peek(), c.isWhitespace { position += 1 }
  }

  private mutating func expect(_ c: Character) throws {
    skipSpaces()
    guard peek() == c else { throw error("expected '\(c)'") }
    position += 1
  }

  private func error(_ what: String) -> MoeFormatError {
    let snippet = String(chars.prefix(80)).trimmingTrailingSpaces()
    return MoeFormatError(
      .badHeader,
      "malformed header at character \(position): \(what); expected a dict like "
        + "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, found \"\(snippet)\"")
  }
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var text = self
    while text.last == " " || text.last == "\n" { text.removeLast() }
    return text
  }
}
