// KMeans1D: deterministic 1-D k-means (Lloyd on sorted distinct values with prefix sums).
import Foundation

/// Clusters scalar values into at most `k` centroids; returns them sorted ascending.
///
/// Deterministic, no random numbers: the values are sorted once and reduced to distinct values with counts.
/// If there are at most `k` distinct values they are returned as they are. Otherwise the initial centroids follow
/// the MSE-optimal high-rate point density ∝ p^(1/3) (`initialCentroids`), then Lloyd iterations run: each centroid is the
/// mean of its range (from prefix sums of count, x, x²), each boundary moves to the midpoint of adjacent centroids
/// (a value exactly at a midpoint joins the lower cluster). A cluster left empty is dropped and the cluster with the
/// largest squared error is split at its mean. Iteration stops when no boundary moves, or after `maxIterations`.
/// Cost: O(n log n) for the sort plus O(k log n) per iteration.
public func kmeans1D(_ values: [Float], k: Int, maxIterations: Int = 1000) -> [Float] {
  precondition(k >= 1, "kmeans1D: k must be ≥ 1")
  let sorted = values.sorted()
  var unique: [Double] = []
  var counts: [Double] = []
  for x in sorted {
    if let last = unique.last, last == Double(x) {
      counts[counts.count - 1] += 1
    } else {
      unique.append(Double(x))
      counts.append(1)
    }
  }
  if unique.count <= k { return unique.map { Float($0) } }
  let m = unique.count
  var p0 = [Double](repeating: 0, count: m + 1), p1 = p0, p2 = p0
  for i in 0..<m {
    p0[i + 1] = p0[i] + counts[i]
    p1[i + 1] = p1[i] + counts[i] * unique[i]
    p2[i + 1] = p2[i] + counts[i] * unique[i] * unique[i]
  }
  func mean(_ a: Int, _ b: Int) -> Double { (p1[b] - p1[a]) / (p0[b] - p0[a]) }
  func sse(_ a: Int, _ b: Int) -> Double {
    let w = p0[b] - p0[a], s = p1[b] - p1[a]
    return b - a < 2 ? 0 : max(p2[b] - p2[a] - s * s / w, 0)
  }
  /// First index in a..<b whose value is > t (b if none).
  func upperBound(_ t: Double, _ a: Int, _ b: Int) -> Int {
    var lo = a, hi = b
    while lo < hi {
      let mid = (lo + hi) / 2
      if unique[mid] <= t { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }
  /// Cluster boundaries for sorted centroids: cluster j is unique[bounds[j]..<bounds[j+1]]; empty clusters are
  /// replaced by splitting the cluster with the largest squared error at its mean.
  func partition(_ centroids: [Double]) -> [Int] {
    var starts = [0]
    for j in 1..<centroids.count {
      let cut = upperBound((centroids[j - 1] + centroids[j]) / 2, starts[starts.count - 1], m)
      if cut > starts[starts.count - 1] && cut < m { starts.append(cut) }
    }
    var ranges = zip(starts, starts.dropFirst() + [m]).map { $0..<$1 }
    while ranges.count < k {
      let splittable = ranges.indices.filter { ranges[$0].count >= 2 }  // never empty: m > k distinct values
      guard
        let worst = splittable.max(by: {
          sse(ranges[$0].lowerBound, ranges[$0].upperBound) < sse(ranges[$1].lowerBound, ranges[$1].upperBound)
        })
      else { break }
      let r = ranges[worst]
      let cut = min(max(upperBound(mean(r.lowerBound, r.upperBound), r.lowerBound, r.upperBound), r.lowerBound + 1), r.upperBound - 1)
      ranges.replaceSubrange(worst...worst, with: [r.lowerBound..<cut, cut..<r.upperBound])
    }
    return ranges.map(\.lowerBound) + [m]
  }
  var bounds = partition(initialCentroids(unique, counts, k: k))
  for _ in 0..<maxIterations {
    let next = partition((0..<k).map { mean(bounds[$0], bounds[$0 + 1]) })
    if next == bounds { break }
    bounds = next
  }
  return (0..<k).map { Float(mean(bounds[$0], bounds[$0 + 1])) }
}

/// Centroids at the (j + ½)/k quantiles of the companded density p^(1/3), estimated with an equal-width histogram
/// of `4k` bins over [min, max] (Panter–Dite: the optimal high-rate MSE quantizer's point density). Sorted.
func initialCentroids(_ unique: [Double], _ counts: [Double], k: Int) -> [Double] {
  let lo = unique[0], hi = unique[unique.count - 1]
  let bins = 4 * k
  let width = (hi - lo) / Double(bins)
  var mass = [Double](repeating: 0, count: bins)
  for (x, c) in zip(unique, counts) { mass[min(Int((x - lo) / width), bins - 1)] += c }
  let weight = mass.map { Foundation.cbrt($0) }
  let total = weight.reduce(0, +)
  var centroids: [Double] = []
  var acc = 0.0, b = 0
  for j in 0..<k {
    let target = total * (Double(j) + 0.5) / Double(k)
    while b < bins - 1 && acc + weight[b] < target {
      acc += weight[b]
      b += 1
    }
    let fraction = weight[b] > 0 ? min(max((target - acc) / weight[b], 0), 1) : 0.5
    centroids.append(lo + (Double(b) + fraction) * width)
  }
  return centroids
}
