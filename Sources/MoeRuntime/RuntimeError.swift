// RuntimeError: a failure while binding inputs, planning or running a graph, naming the input or node at fault.

/// An error raised by the executor. Its description is one line naming the input or node at fault,
/// e.g. `input 'z': has shape [2,100] but expected [N,162]`.
public struct RuntimeError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The input or node the error is about (`input 'z'`, `node 'c1' (conv2d)`).
  public var location: String
  /// What went wrong.
  public var message: String

  public init(at location: String, _ message: String) {
    self.location = location
    self.message = message
  }

  public var description: String { "\(location): \(message)" }
}
