// MoeDataError: the one error type of MoeData, printed as a single line naming the file.

/// An error reading images or datasets: one line, `<file>: <what was found; what was expected>`.
public struct MoeDataError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file involved, if any.
  public var file: String?
  /// What was found and what was expected.
  public var message: String

  /// An error about `file` (or about no file in particular).
  public init(file: String? = nil, _ message: String) {
    self.file = file
    self.message = message
  }

  public var description: String { file.map { "\($0): \(message)" } ?? message }
}
