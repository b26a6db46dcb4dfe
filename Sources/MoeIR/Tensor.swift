// Tensor: a concrete float32 array with its shape (initializers, constants, run-time values).

/// A dense float32 tensor in C (row-major) order.
public struct Tensor: Hashable, Sendable {
  public var shape: [Int]
  public var data: [Float]

  public init(shape: [Int], data: [Float]) {
    precondition(elementCount(shape) == data.count, "Tensor: \(data.count) elements for shape \(shape)")
    self.shape = shape
    self.data = data
  }

  public init(zeros shape: [Int]) {
    self.shape = shape
    self.data = [Float](repeating: 0, count: elementCount(shape))
  }

  public var count: Int { data.count }
}
