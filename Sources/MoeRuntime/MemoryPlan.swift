// MemoryPlan: places activation buffers in one arena so that buffers alive at the same time never overlap.

/// A block of activation memory needed from step `first` through step `last` (both inclusive).
struct BufferRequest: Equatable {
  var count: Int
  var first: Int
  var last: Int

  func overlapsInTime(_ o: BufferRequest) -> Bool { first <= o.last && o.first <= last }
}

/// Offsets of buffers in the arena: greedy by size (largest first), each buffer going into the smallest
/// gap left by already-placed buffers whose lifetimes overlap its own (best fit), else above them.
struct MemoryPlan {
  /// Buffer offsets are multiples of this many floats (64 bytes, a cache line).
  static let alignment = 16

  /// Offset in floats of each request, in request order.
  private(set) var offsets: [Int]
  /// Floats the arena needs.
  private(set) var arenaCount: Int

  static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

  init(_ requests: [BufferRequest]) {
    offsets = [Int](repeating: 0, count: requests.count)
    arenaCount = 0
    let order = requests.indices.sorted {
      let a = requests[$0], b = requests[$1]
      return a.count != b.count ? a.count > b.count : (a.first != b.first ? a.first < b.first : $0 < $1)
    }
    var placed: [Int] = []
    for i in order {
      let r = requests[i]
      let size = MemoryPlan.aligned(r.count)
      let busy = placed.filter { requests[$0].overlapsInTime(r) }
        .map { (start: offsets[$0], end: offsets[$0] + MemoryPlan.aligned(requests[$0].count)) }
        .sorted { $0.start < $1.start }
      var best: Int? = nil
      var bestGap = Int.max
      var cursor = 0
      for b in busy {
        let gap = b.start - cursor
        if gap >= size && gap < bestGap {
          best = cursor
          bestGap = gap
        }
        cursor = max(cursor, b.end)
      }
      let offset = best ?? cursor
      offsets[i] = offset
      arenaCount = max(arenaCount, offset + size)
      placed.append(i)
    }
  }
}
