// FrechetDistance: the Fréchet distance between two Gaussians fitted to feature sets (|μ₁−μ₂|² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½)).

/// Fréchet distance between Gaussians fitted to two sets of feature rows (the tagger's features, not Inception's:
/// this is not "FID", and its values are comparable only between runs with the same tagger).
public func frechetDistance(_ a: [[Float]], _ b: [[Float]]) -> Double {
  let (m1, s1) = meanAndCovariance(a), (m2, s2) = meanAndCovariance(b)
  let d = m1.count
  var diff = 0.0
  for i in 0..<d { diff += (m1[i] - m2[i]) * (m1[i] - m2[i]) }
  // Tr((Σ₁Σ₂)^½) = Σ √λ of the symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½.
  let root = symmetricSqrt(s1)
  let m = multiply(multiply(root, s2), root)
  let eig = jacobiEigenvalues(m)
  var trace = 0.0
  for i in 0..<d { trace += s1[i][i] + s2[i][i] }
  return diff + trace - 2 * eig.reduce(0) { $0 + max($1, 0).squareRoot() }
}

func meanAndCovariance(_ x: [[Float]]) -> ([Double], [[Double]]) {
  let n = x.count, d = x.first?.count ?? 0
  var mean = [Double](repeating: 0, count: d)
  for r in x { for i in 0..<d { mean[i] += Double(r[i]) } }
  for i in 0..<d { mean[i] /= Double(max(n, 1)) }
  var cov = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
  for r in x {
    for i in 0..<d {
      let di = Double(r[i]) - mean[i]
      for j in i..<d { cov[i][j] += di * (Double(r[j]) - mean[j]) }
    }
  }
  for i in 0..<d { for j in i..<d { cov[i][j] /= Double(max(n - 1, 1)); cov[j][i] = cov[i][j] } }
  return (mean, cov)
}

func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
  let n = a.count, m = b.first?.count ?? 0, k = b.count
  var c = [[Double]](repeating: [Double](repeating: 0, count: m), count: n)
  for i in 0..<n { for t in 0..<k { let v = a[i][t]; if v != 0 { for j in 0..<m { c[i][j] += v * b[t][j] } } } }
  return c
}

/// The PSD square root of a symmetric matrix (negative eigenvalues from rounding clamped to 0).
func symmetricSqrt(_ s: [[Double]]) -> [[Double]] {
  let (values, vectors) = jacobiEigen(s)
  let n = s.count
  var out = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
  for k in 0..<n {
    let r = max(values[k], 0).squareRoot()
    for i in 0..<n { for j in 0..<n { out[i][j] += r * vectors[i][k] * vectors[j][k] } }
  }
  return out
}

func jacobiEigenvalues(_ s: [[Double]]) -> [Double] { jacobiEigen(s).values }

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations; columns of `vectors` are the eigenvectors.
func jacobiEigen(_ s: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
  let n = s.count
  var a = s
  var v = (0..<n).map { i in (0..<n).map { j in i == j ? 1.0 : 0.0 } }
  for _ in 0..<100 {
    var off = 0.0
    for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { off += a[i][j] * a[i][j] } }
    if off < 1e-22 { break }
    for p in 0..<n {
      for q in (p + 1)..<max(n, p + 1) where abs(a[p][q]) > 1e-300 {
        let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
        let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
        let c = 1 / (t * t + 1).squareRoot(), s = t * c
        for k in 0..<n {
          let akp = a[k][p], akq = a[k][q]
          a[k][p] = c * akp - s * akq
          a[k][q] = s * akp + c * akq
        }
        for k in 0..<n {
          let apk = a[p][k], aqk = a[q][k]
          a[p][k] = c * apk - s * aqk
          a[q][k] = s * apk + c * aqk
        }
        for k in 0..<n {
          let vkp = v[k][p], vkq = v[k][q]
          v[k][p] = c * vkp - s * vkq
          v[k][q] = s * vkp + c * vkq
        }
      }
    }
  }
  return ((0..<n).map { a[$0][$0] }, v)
}
