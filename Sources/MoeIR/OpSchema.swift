// OpSchema: the one declaration of each op — attributes in canonical order, arity, outputs, epilogue, wasm code, doc.

/// The type of an attribute's value in the text form.
public enum AttributeKind: Hashable, Sendable {
  case int, float, ints, floats, tensor
  /// `0` or `1`.
  case bool
  /// One word out of a fixed set.
  case word([String])
  /// An epilogue activation: `relu`, `tanh`, `sigmoid` or `leaky_relu:ALPHA`.
  case activation

  /// A short description for docs and generated tables ("int", "one of DCR, CRD", …).
  public var summary: String {
    switch self {
    case .int: return "int"
    case .float: return "float"
    case .ints: return "int list"
    case .floats: return "float list"
    case .tensor: return "f32 tensor literal"
    case .bool: return "0/1"
    case .word(let words): return words.map { "`\($0)`" }.joined(separator: "/")
    case .activation: return "`relu`/`tanh`/`sigmoid`/`leaky_relu:ALPHA`"
    }
  }

  /// The name used in the generated JavaScript and Python tables.
  public var tableName: String {
    switch self {
    case .int: return "int"
    case .float: return "float"
    case .ints: return "ints"
    case .floats: return "floats"
    case .tensor: return "tensor"
    case .bool: return "bool"
    case .word: return "word"
    case .activation: return "activation"
    }
  }
}

/// One attribute of an op.
public struct AttributeSchema: Hashable, Sendable {
  public let name: String
  public let kind: AttributeKind
  /// The value meant when the attribute is absent (text form); nil when every node must write it.
  public let defaultValue: String?
  /// A valid value in text form (tests build one node of every op from these).
  public let example: String
  public let doc: String

  public init(_ name: String, _ kind: AttributeKind, example: String, default defaultValue: String? = nil, _ doc: String) {
    self.name = name
    self.kind = kind
    self.defaultValue = defaultValue
    self.example = example
    self.doc = doc
  }
}

/// A layer an op must reach unless its schema records why it does not.
public enum OpLayer: String, CaseIterable, Hashable, Sendable {
  /// The op conformance corpus (Converters/tests/op_cases.py), run natively, by moe.js + wasm and through ONNX.
  case corpus
  /// ONNX export (MoeFormats/ONNXExporter).
  case onnxExport = "onnx_export"
  /// ONNX import (MoeFormats/ONNXImporter).
  case onnxImport = "onnx_import"
  /// The NumPy evaluator of the Python tests (Converters/tests/moeir_numpy.py).
  case numpy
}

/// The kernel an op maps to in the wasm C ABI (Sources/MoeKernels), where its family has one.
public enum WasmCode: Hashable, Sendable {
  /// `moe_unary(code, …)` (codes 1…5 double as epilogue activations).
  case unary(Int32)
  /// `moe_binary(code, …)`.
  case binary(Int32)
}

/// The declaration of one op: what a node of it may carry and how many values it takes and defines.
public struct OpSchema: Sendable {
  /// The op's name in the text form.
  public let name: String
  /// The op's own attributes in canonical (printing) order; see `allAttributes` for the epilogue ones.
  public let attributes: [AttributeSchema]
  /// Allowed input counts, not counting an epilogue's residual input.
  public let inputs: ClosedRange<Int>
  /// A short description of the inputs, in order (`[…]` marks optional ones).
  public let inputDoc: String
  /// Number of values a node defines.
  public let outputs: Int
  /// Whether the op can carry a fused epilogue (`act`, `residual`).
  public let takesEpilogue: Bool
  /// The wasm ABI code, for ops of the unary and binary kernel families.
  public let wasm: WasmCode?
  /// One line of semantics.
  public let doc: String
  /// Layers that do not (yet) have the op, each with the documented reason.
  public let exemptions: [OpLayer: String]

  public init(_ name: String, inputs: ClosedRange<Int>, _ inputDoc: String, _ attributes: [AttributeSchema] = [],
              outputs: Int = 1, epilogue: Bool = false, wasm: WasmCode? = nil, exempt: [OpLayer: String] = [:],
              _ doc: String) {
    self.name = name
    self.attributes = attributes
    self.inputs = inputs
    self.inputDoc = inputDoc
    self.outputs = outputs
    self.takesEpilogue = epilogue
    self.wasm = wasm
    self.doc = doc
    self.exemptions = exempt
  }

  /// An op without attributes of its own.
  public init(_ name: String, inputs: ClosedRange<Int>, _ inputDoc: String, epilogue: Bool = false, wasm: WasmCode? = nil,
              exempt: [OpLayer: String] = [:], _ doc: String) {
    self.init(name, inputs: inputs, inputDoc, [], epilogue: epilogue, wasm: wasm, exempt: exempt, doc)
  }

  /// The epilogue attributes, printed after the op's own.
  public static let epilogueAttributes: [AttributeSchema] = [
    AttributeSchema("act", .activation, example: "leaky_relu:0.2", default: "none", "activation applied to the result"),
    AttributeSchema("residual", .word(["before", "after"]), example: "after", default: "none",
                    "adds the node's last input: `before` y = act(z + r), `after` y = act(z) + r"),
  ]

  /// Every attribute a node of this op may carry, in canonical order.
  public var allAttributes: [AttributeSchema] { takesEpilogue ? attributes + Self.epilogueAttributes : attributes }

  /// The schema of an op name, nil for unknown names.
  public static func named(_ name: String) -> OpSchema? { byName[name] }

  static let byName: [String: OpSchema] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}

extension Op {
  /// The op's declaration.
  public var schema: OpSchema {
    guard let s = OpSchema.named(name) else { preconditionFailure("op '\(name)' has no schema") }
    return s
  }

  /// Allowed input counts (a residual epilogue adds one).
  public var arity: ClosedRange<Int> {
    let r = schema.inputs, extra = epilogue.residualInputs
    return (r.lowerBound + extra)...(r.upperBound == Int.max ? Int.max : r.upperBound + extra)
  }

  /// Number of values the op defines.
  public var outputCount: Int { schema.outputs }
}
