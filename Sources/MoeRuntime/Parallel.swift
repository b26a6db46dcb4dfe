// Parallel: MoeKit's own work sharing over the cores (OpenBLAS then runs single-threaded inside each work item).
import MoeNativeShim

/// Runs independent work items on a fixed number of workers (the calling thread and MoeNativeShim's helper threads,
/// which spin briefly between jobs). Items are handed out one at a time from a shared counter, so a worker slowed
/// by another process (a busy machine) simply takes fewer items.
enum Parallel {
  /// Calls `body(item, worker)` for every item in `0..<count`, on at most `workers` threads at once; `worker` is in
  /// `0..<workers` and no two concurrent calls share it (per-worker scratch is indexed by it). Returns when all are done.
  static func forEach(_ count: Int, workers: Int, _ body: (_ item: Int, _ worker: Int) -> Void) {
    let w = min(max(workers, 1), count)
    if w <= 1 {
      for i in 0..<count { body(i, 0) }
      return
    }
    withoutActuallyEscaping(body) { body in
      var task = body
      withUnsafeMutablePointer(to: &task) { ctx in
        moe_pool_run(Int32(w), count, { ctx, item, worker in
          ctx!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(item, Int(worker))
        }, ctx)
      }
    }
  }

  /// Splits `0..<total` into `parts` near-equal ranges; part `p`'s range.
  static func range(_ p: Int, of parts: Int, total: Int) -> Range<Int> {
    let lo = total * p / parts, hi = total * (p + 1) / parts
    return lo..<hi
  }
}
