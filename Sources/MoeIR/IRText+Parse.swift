// IRText parser: reads the canonical text form back into a Graph, errors naming the line.

extension IRText {
  /// Parses the text form. Weight data is not part of the text; attach it with `initializers`.
  public static func parse(_ text: String, source: String = "<text>") throws -> Graph {
    var g = Graph(name: "")
    var sawHeader = false, sawGraph = false
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = String(raw)
      if line.trimmingSpaces.isEmpty || line.hasPrefix("#") { continue }
      var sc = LineScanner(line: line, location: "\(source):\(i + 1)")
      let keyword = try sc.word()
      if !sawHeader {
        guard keyword == magic else { throw sc.error("expected '\(magic) \(version)' header, found '\(keyword)'") }
        let v = try sc.word()
        guard Int(v) == version else { throw sc.error("unsupported IR text version \(v); this reader knows version \(version)") }
        sawHeader = true
        try sc.end()
        continue
      }
      switch keyword {
      case "graph":
        if sawGraph { throw sc.error("second 'graph' line") }
        g.name = try sc.string()
        sawGraph = true
      case "meta":
        let k = try sc.string()
        g.metadata[k] = try sc.string()
      case "input", "weight":
        let name = try sc.valueName()
        try sc.expect(":")
        let v = try sc.valueType(name)
        if keyword == "input" { g.inputs.append(v) } else { g.weights.append(v) }
      case "node":
        g.nodes.append(try sc.node())
      case "output":
        g.outputs.append(try sc.valueName())
      default:
        throw sc.error("unknown line kind '\(keyword)' (expected graph, meta, input, weight, node or output)")
      }
      try sc.end()
    }
    if !sawHeader { throw IRError(.parse, at: source, "empty: expected '\(magic) \(version)' header") }
    return g
  }
}

extension String {
  var trimmingSpaces: Substring { self.drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }) }
}

/// Scans one line of the text form.
struct LineScanner {
  let chars: [Character]
  var pos = 0
  let location: String

  init(line: String, location: String) {
    self.chars = Array(line)
    self.location = location
  }

  func error(_ message: String) -> IRError { IRError(.parse, at: location, message) }

  mutating func skipSpaces() { while pos < chars.count && (chars[pos] == " " || chars[pos] == "\t" || chars[pos] == "\r") { pos += 1 } }

  var peek: Character? {
    mutating get {
      skipSpaces()
      return pos < chars.count ? chars[pos] : nil
    }
  }

  mutating func end() throws {
    if let c = peek { throw error("unexpected '\(c)' at column \(pos + 1)") }
  }

  mutating func expect(_ c: Character) throws {
    guard peek == c else { throw error("expected '\(c)' at column \(pos + 1)") }
    pos += 1
  }

  mutating func accept(_ c: Character) -> Bool {
    if peek == c { pos += 1; return true }
    return false
  }

  /// A run of characters up to a space or one of `,()[]{}=`.
  mutating func word() throws -> String {
    skipSpaces()
    let start = pos
    while pos < chars.count, !" \t,()[]{}=\"".contains(chars[pos]) { pos += 1 }
    guard pos > start else { throw error("expected a word at column \(pos + 1)") }
    return String(chars[start..<pos])
  }

  mutating func string() throws -> String {
    guard peek == "\"" else { throw error("expected a quoted string at column \(pos + 1)") }
    pos += 1
    var s = ""
    while pos < chars.count {
      let c = chars[pos]
      pos += 1
      if c == "\"" { return s }
      if c == "\\" {
        guard pos < chars.count else { break }
        let e = chars[pos]
        pos += 1
        switch e {
        case "n": s.append("\n")
        case "t": s.append("\t")
        case "\"", "\\": s.append(e)
        default: throw error("unknown escape '\\\(e)'")
        }
      } else {
        s.append(c)
      }
    }
    throw error("unterminated string")
  }

  mutating func valueName() throws -> String {
    try expect("%")
    if pos < chars.count && chars[pos] == "\"" { return try string() }
    let start = pos
    while pos < chars.count, IRText.bareNameCharacters.contains(chars[pos]) { pos += 1 }
    guard pos > start else { throw error("expected a value name after '%' at column \(pos + 1)") }
    return String(chars[start..<pos])
  }

  mutating func intList() throws -> [Int] {
    try expect("[")
    var out: [Int] = []
    if accept("]") { return out }
    repeat {
      let w = try word()
      guard let v = Int(w) else { throw error("expected an integer, found '\(w)'") }
      out.append(v)
    } while accept(",")
    try expect("]")
    return out
  }

  /// `[w, w, …]`: a list of words (integers or floats), checked by the attribute reader.
  mutating func wordList() throws -> [String] {
    try expect("[")
    var out: [String] = []
    if accept("]") { return out }
    repeat { out.append(try word()) } while accept(",")
    try expect("]")
    return out
  }

  mutating func valueType(_ name: String) throws -> ValueInfo {
    skipSpaces()
    let start = pos
    while pos < chars.count, chars[pos] != "[" { pos += 1 }
    let dt = String(chars[start..<pos])
    guard let dtype = DType(rawValue: dt) else { throw error("unknown dtype '\(dt)' for '\(name)'") }
    try expect("[")
    var dims: [Dim] = []
    if !accept("]") {
      repeat {
        let w = try word()
        if let v = Int(w) { dims.append(.fixed(v)) } else { dims.append(.symbol(w)) }
      } while accept(",")
      try expect("]")
    }
    return ValueInfo(name: name, dtype: dtype, shape: Shape(dims))
  }

  mutating func node() throws -> Node {
    let name = try string()
    var outputs = [try valueName()]
    while accept(",") { outputs.append(try valueName()) }
    try expect("=")
    let opName = try word()
    try expect("(")
    var inputs: [String] = []
    if !accept(")") {
      repeat { inputs.append(try valueName()) } while accept(",")
      try expect(")")
    }
    var attrs: [String: RawAttribute] = [:]
    if accept("{") {
      repeat {
        let key = try word()
        try expect("=")
        if attrs[key] != nil { throw error("attribute '\(key)' given twice on node '\(name)'") }
        attrs[key] = try attributeValue()
      } while accept(",")
      try expect("}")
    }
    let op: Op
    do {
      op = try Op(schemaName: opName, raw: attrs)
    } catch let e as OpSchemaError {
      throw IRError(.parse, at: location, "node '\(name)': \(e.message)")
    }
    return Node(name: name, op: op, inputs: inputs, outputs: outputs)
  }

  mutating func attributeValue() throws -> RawAttribute {
    if peek == "[" { return .list(try wordList()) }
    let w = try word()
    if peek == "[" {  // tensor literal: f32[shape]{values}
      guard w == "f32" else { throw error("constant tensors must be f32, found '\(w)'") }
      let shape = try intList()
      try expect("{")
      var values: [Float] = []
      if !accept("}") {
        repeat {
          let v = try word()
          guard let f = Float(v) else { throw error("expected a float, found '\(v)'") }
          values.append(f)
        } while accept(",")
        try expect("}")
      }
      guard elementCount(shape) == values.count else {
        throw error("constant of shape \(shape) needs \(elementCount(shape)) values, has \(values.count)")
      }
      return .tensor(Tensor(shape: shape, data: values))
    }
    return .scalar(w)
  }
}
