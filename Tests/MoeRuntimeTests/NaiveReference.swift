// NaiveReference: the test oracle, each op written as nested loops straight from its definition (no im2col, no BLAS).
import Foundation
import MoeIR

enum Naive {
  /// conv2d: y[n,o,i,j] = b[o] + Σ_{c,ki,kj} x[n, g·C/g + c, i·sh − pt + ki·dh, j·sw − pl + kj·dw] · w[o,c,ki,kj].
  static func conv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ a: ConvAttrs) -> Tensor {
    let (n, h, wd) = (x.shape[0], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + a.pads[0] + a.pads[2] - (a.dilations[0] * (kh - 1) + 1)) / a.strides[0] + 1
    let ow = (wd + a.pads[1] + a.pads[3] - (a.dilations[1] * (kw - 1) + 1)) / a.strides[1] + 1
    var y = Tensor(zeros: [n, o, oh, ow])
    let og = o / a.groups
    for ni in 0..<n {
      for oi in 0..<o {
        let g = oi / og
        for i in 0..<oh {
          for j in 0..<ow {
            var sum: Float = b?.data[oi] ?? 0
            for c in 0..<cg {
              for ki in 0..<kh {
                for kj in 0..<kw {
                  let ih = i * a.strides[0] - a.pads[0] + ki * a.dilations[0]
                  let iw = j * a.strides[1] - a.pads[1] + kj * a.dilations[1]
                  if ih < 0 || ih >= h || iw < 0 || iw >= wd { continue }
                  sum += x.data[((ni * x.shape[1] + g * cg + c) * h + ih) * wd + iw] * w.data[((oi * cg + c) * kh + ki) * kw + kj]
                }
              }
            }
            y.data[((ni * o + oi) * oh + i) * ow + j] = sum
          }
        }
      }
    }
    return y
  }

  /// convTranspose2d: every x[n, g·C/g + c, i, j] · w[g·C/g + c, oo, ki, kj] is added to
  /// y[n, g·O/g + oo, i·sh − pt + ki·dh, j·sw − pl + kj·dw] (when inside); y starts at the bias.
  /// The weight gradient of conv2d: gw[o, c, ki, kj] = Σ gy[n, o, i, j] · x[n, group(o)·C/g + c, i·s − p + ki·d, …].
  static func conv2dFilterGrad(_ x: Tensor, _ gy: Tensor, wShape: [Int], _ a: ConvAttrs) -> Tensor {
    let (o, cg, kh, kw) = (wShape[0], wShape[1], wShape[2], wShape[3])
    let og = o / a.groups
    var want = Tensor(zeros: wShape)
    for n in 0..<x.shape[0] {
      for oi in 0..<o {
        for i in 0..<gy.shape[2] {
          for j in 0..<gy.shape[3] {
            let d = gy.data[((n * o + oi) * gy.shape[2] + i) * gy.shape[3] + j]
            for ci in 0..<cg {
              for ki in 0..<kh {
                for kj in 0..<kw {
                  let ih = i * a.strides[0] - a.pads[0] + ki * a.dilations[0]
                  let iw = j * a.strides[1] - a.pads[1] + kj * a.dilations[1]
                  if ih < 0 || ih >= x.shape[2] || iw < 0 || iw >= x.shape[3] { continue }
                  let xc = (oi / og) * cg + ci
                  want.data[((oi * cg + ci) * kh + ki) * kw + kj] +=
                    d * x.data[((n * x.shape[1] + xc) * x.shape[2] + ih) * x.shape[3] + iw]
                }
              }
            }
          }
        }
      }
    }
    return want
  }

  static func convTranspose2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ a: ConvTransposeAttrs) -> Tensor {
    let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (og, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
    let o = og * a.groups, cg = cin / a.groups
    let oh = (h - 1) * a.strides[0] - a.pads[0] - a.pads[2] + a.dilations[0] * (kh - 1) + 1 + a.outputPadding[0]
    let ow = (wd - 1) * a.strides[1] - a.pads[1] - a.pads[3] + a.dilations[1] * (kw - 1) + 1 + a.outputPadding[1]
    var y = Tensor(zeros: [n, o, oh, ow])
    for ni in 0..<n {
      for oi in 0..<o { for p in 0..<(oh * ow) { y.data[(ni * o + oi) * oh * ow + p] = b?.data[oi] ?? 0 } }
      for ci in 0..<cin {
        let g = ci / cg
        for i in 0..<h {
          for j in 0..<wd {
            let v = x.data[((ni * cin + ci) * h + i) * wd + j]
            for oo in 0..<og {
              for ki in 0..<kh {
                for kj in 0..<kw {
                  let yi = i * a.strides[0] - a.pads[0] + ki * a.dilations[0]
                  let yj = j * a.strides[1] - a.pads[1] + kj * a.dilations[1]
                  if yi < 0 || yi >= oh || yj < 0 || yj >= ow { continue }
                  y.data[((ni * o + g * og + oo) * oh + yi) * ow + yj] += v * w.data[((ci * og + oo) * kh + ki) * kw + kj]
                }
              }
            }
          }
        }
      }
    }
    return y
  }

  /// C[i,j] = Σ_k A[i,k]·B[k,j] for row-major (m,k)·(k,n).
  static func matrixProduct(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
    return c
  }

  /// NumPy broadcast of a binary function.
  static func broadcast(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
    let r = max(a.shape.count, b.shape.count)
    let pa = [Int](repeating: 1, count: r - a.shape.count) + a.shape
    let pb = [Int](repeating: 1, count: r - b.shape.count) + b.shape
    let shape = zip(pa, pb).map { max($0, $1) }
    let data = allIndices(shape).map { idx -> Float in
      let ia = zip(idx, pa).map { $1 == 1 ? 0 : $0 }, ib = zip(idx, pb).map { $1 == 1 ? 0 : $0 }
      return f(element(Tensor(shape: pa, data: a.data), ia), element(Tensor(shape: pb, data: b.data), ib))
    }
    return Tensor(shape: shape, data: data)
  }

  /// y[idx] = x[idx permuted]: output dimension d is input dimension perm[d].
  static func transpose(_ x: Tensor, _ perm: [Int]) -> Tensor {
    let shape = perm.map { x.shape[$0] }
    let data = allIndices(shape).map { idx -> Float in
      var src = [Int](repeating: 0, count: idx.count)
      for d in 0..<idx.count { src[perm[d]] = idx[d] }
      return element(x, src)
    }
    return Tensor(shape: shape, data: data)
  }

  /// ONNX DepthToSpace, literally: reshape to 6-D, transpose, reshape back.
  static func depthToSpace(_ x: Tensor, _ b: Int, _ mode: DepthToSpaceMode) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let six = Tensor(shape: mode == .dcr ? [n, b, b, c / (b * b), h, w] : [n, c / (b * b), b, b, h, w], data: x.data)
    let t = transpose(six, mode == .dcr ? [0, 3, 4, 1, 5, 2] : [0, 1, 4, 2, 5, 3])
    return Tensor(shape: [n, c / (b * b), h * b, w * b], data: t.data)
  }

  /// ONNX Slice indices on one axis: negative start/end count from the end, then clamp by the step's direction.
  static func sliceIndices(dim: Int, start: Int, end: Int, step: Int) -> [Int] {
    var s = start < 0 ? start + dim : start, e = end < 0 ? end + dim : end
    if step > 0 {
      s = min(max(s, 0), dim)
      e = min(max(e, 0), dim)
    } else {
      s = min(max(s, 0), dim - 1)
      e = min(max(e, -1), dim - 1)
    }
    var out: [Int] = []
    var i = s
    while step > 0 ? i < e : i > e {
      out.append(i)
      i += step
    }
    return out
  }

  static func slice(_ x: Tensor, _ a: SliceAttrs) -> Tensor {
    var picks = x.shape.map { Array(0..<$0) }
    for (i, axis) in a.axes.enumerated() {
      let ax = axis < 0 ? axis + x.shape.count : axis
      picks[ax] = sliceIndices(dim: x.shape[ax], start: a.starts[i], end: a.ends[i], step: a.steps[i])
    }
    let shape = picks.map(\.count)
    let data = allIndices(shape).map { idx in element(x, zip(idx, picks).map { $1[$0] }) }
    return Tensor(shape: shape, data: data)
  }

  static func concat(_ xs: [Tensor], axis: Int) -> Tensor {
    var shape = xs[0].shape
    shape[axis] = xs.reduce(0) { $0 + $1.shape[axis] }
    let data = allIndices(shape).map { idx -> Float in
      var i = idx, k = 0
      while i[axis] >= xs[k].shape[axis] {
        i[axis] -= xs[k].shape[axis]
        k += 1
      }
      return element(xs[k], i)
    }
    return Tensor(shape: shape, data: data)
  }
}
