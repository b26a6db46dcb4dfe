// ExecutorOptions: knobs of the native executor (threads, whether to return intermediate values).

/// Options of an `Executor`.
public struct ExecutorOptions: Sendable {
  /// Threads that share each convolution and matrix product (MoeKit's own work sharing; OpenBLAS runs
  /// single-threaded inside each work item).
  public var threads: Int = 2
  /// When true, `run` also returns every node output, keyed by value name.
  public var keepIntermediates: Bool = false

  public init(threads: Int = 2, keepIntermediates: Bool = false) {
    self.threads = threads
    self.keepIntermediates = keepIntermediates
  }
}
