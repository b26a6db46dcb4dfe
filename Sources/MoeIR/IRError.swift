// IRError: every way a graph can be malformed, each naming the node or value at fault.

/// An error in a graph or in its text form. Each description is one line naming the node.
public struct IRError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: String, Sendable {
    case undefinedValue = "undefined value"
    case duplicateDefinition = "value defined twice"
    case notTopological = "not in topological order"
    case shapeMismatch = "shape mismatch"
    case badOutput = "output names nothing"
    case badArity = "wrong number of inputs"
    case badAttribute = "bad attribute"
    case badDType = "dtype mismatch"
    case parse = "parse error"
  }
  public var kind: Kind
  /// The node (or value, or text line) the error is about.
  public var location: String
  public var message: String

  public init(_ kind: Kind, at location: String, _ message: String) {
    self.kind = kind
    self.location = location
    self.message = message
  }

  public var description: String { "\(location): \(kind.rawValue): \(message)" }
}
