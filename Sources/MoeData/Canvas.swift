// Canvas: a float RGB raster with an exact-area anti-aliased polygon rasterizer (signed-area accumulation).
import Foundation

/// How a filled shape is coloured.
public enum Paint: Sendable {
  /// One colour.
  case solid(Colour)
  /// A linear gradient from `from` (at `start`) to `to` (at `end`), design units; clamped outside.
  case linear(start: Point, from: Colour, end: Point, to: Colour)
}

/// A square RGB raster drawn in design units (the unit square) mapped to pixels by `transform`.
///
/// Shapes are unions of polygons; coverage is the exact area of each pixel inside the shape
/// (accumulated signed edge areas, as in font rasterizers), so edges are anti-aliased without supersampling.
public final class Canvas {
  public let size: Int
  /// Maps design units to pixels.
  public var transform: Affine
  /// `size * size * 3` components in 0…1, rows top to bottom.
  public private(set) var rgb: [Float]
  /// Signed area accumulation, `size + 2` columns a row (edges clipped to [0, size] land in the extra columns).
  private var accumulation: [Float]
  private let stride: Int

  /// A canvas of `size`² pixels, black, with the design unit square mapped onto it.
  public init(size: Int) {
    self.size = size
    stride = size + 2
    transform = .pose(centre: Point(0.5, 0.5), angle: 0, scale: 1, offset: Point(0, 0), pixels: Float(size))
    rgb = [Float](repeating: 0, count: size * size * 3)
    accumulation = [Float](repeating: 0, count: (size + 2) * (size + 1))
  }

  /// Fills the union of `polygons` (design units) with `paint` at `opacity`.
  public func fill(_ polygons: [[Point]], _ paint: Paint, opacity: Float = 1) {
    var minX = Float.infinity, maxX = -Float.infinity, minY = Float.infinity, maxY = -Float.infinity
    let side = Float(size)
    for polygon in polygons where polygon.count >= 3 {
      var pixels = polygon.map(transform.apply)
      if Canvas.signedArea(pixels) < 0 { pixels.reverse() }
      for i in 0..<pixels.count {
        let p = pixels[i], q = pixels[(i + 1) % pixels.count]
        minX = min(minX, p.x); maxX = max(maxX, p.x); minY = min(minY, p.y); maxY = max(maxY, p.y)
        addClipped(p, q, side)
      }
    }
    guard minX < maxX, minY < maxY else { return }
    let y0 = max(0, Int(minY.rounded(.down))), y1 = min(size, Int(maxY.rounded(.up)))
    let x0 = max(0, Int(minX.rounded(.down))), x1 = min(size + 2, Int(maxX.rounded(.up)) + 2)
    guard y0 < y1, x0 < x1 else { clear(); return }
    let shade = Shader(paint, transform)
    accumulation.withUnsafeMutableBufferPointer { acc in
      rgb.withUnsafeMutableBufferPointer { out in
        for y in y0..<y1 {
          var sum: Float = 0
          let row = y * stride
          for x in x0..<x1 {
            sum += acc[row + x]
            acc[row + x] = 0
            guard x < size else { continue }
            let coverage = min(1, abs(sum)) * opacity
            if coverage < 1.0 / 1024 { continue }
            let c = shade.colour(Float(x) + 0.5, Float(y) + 0.5)
            let o = (y * size + x) * 3
            out[o] += (c.r - out[o]) * coverage
            out[o + 1] += (c.g - out[o + 1]) * coverage
            out[o + 2] += (c.b - out[o + 2]) * coverage
          }
        }
      }
    }
  }

  /// Fills the whole canvas (no transform) with a vertical gradient.
  public func fillBackground(top: Colour, bottom: Colour) {
    for y in 0..<size {
      let c = top.mixed(with: bottom, (Float(y) + 0.5) / Float(size))
      for x in 0..<size {
        let o = (y * size + x) * 3
        rgb[o] = c.r; rgb[o + 1] = c.g; rgb[o + 2] = c.b
      }
    }
  }

  /// The canvas as 8-bit RGB.
  public func image() -> RGBImage {
    RGBImage(width: size, height: size, pixels: rgb.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) })
  }

  /// Writes the canvas as R, G, B planes of 8-bit values into `planes` (3·size² bytes).
  public func writePlanes(into planes: UnsafeMutableBufferPointer<UInt8>) {
    let n = size * size
    for i in 0..<n {
      for c in 0..<3 { planes[c * n + i] = UInt8(max(0, min(255, (rgb[3 * i + c] * 255).rounded()))) }
    }
  }

  private func clear() { for i in accumulation.indices { accumulation[i] = 0 } }

  static func signedArea(_ p: [Point]) -> Float {
    var area: Float = 0
    for i in 0..<p.count {
      let a = p[i], b = p[(i + 1) % p.count]
      area += a.x * b.y - b.x * a.y
    }
    return area / 2
  }

  /// Splits an edge where it crosses x = 0 and x = side, then clamps x, so pieces outside the canvas
  /// become vertical edges on its border (which keeps every row's accumulated area exact).
  private func addClipped(_ p: Point, _ q: Point, _ side: Float) {
    var cuts: [Float] = []
    for bound in [Float(0), side] where (p.x - bound) * (q.x - bound) < 0 {
      cuts.append((bound - p.x) / (q.x - p.x))
    }
    cuts.sort()
    var start = p
    for t in cuts {
      let mid = p.lerp(q, t)
      addLine(start, mid, side)
      start = mid
    }
    addLine(start, q, side)
  }

  /// Accumulates the signed area an edge contributes to each pixel of the rows it spans.
  private func addLine(_ a: Point, _ b: Point, _ side: Float) {
    guard a.y != b.y else { return }
    let pa = Point(min(max(a.x, 0), side), a.y), pb = Point(min(max(b.x, 0), side), b.y)
    let (direction, p0, p1): (Float, Point, Point) = pa.y < pb.y ? (1, pa, pb) : (-1, pb, pa)
    guard p1.y > 0, p0.y < Float(size) else { return }
    let dxdy = (p1.x - p0.x) / (p1.y - p0.y)
    var x = p0.x
    if p0.y < 0 { x -= p0.y * dxdy }
    let yStart = max(0, Int(p0.y.rounded(.down))), yEnd = min(size, Int(p1.y.rounded(.up)))
    guard yStart < yEnd else { return }
    accumulation.withUnsafeMutableBufferPointer { acc in
      for y in yStart..<yEnd {
        let row = y * stride
        let dy = min(Float(y + 1), p1.y) - max(Float(y), p0.y)
        let xNext = x + dxdy * dy
        let d = dy * direction
        let (xa, xb) = x < xNext ? (x, xNext) : (xNext, x)
        let xaFloor = xa.rounded(.down), xbCeil = xb.rounded(.up)
        let ia = Int(xaFloor), ib = Int(xbCeil)
        if ib <= ia + 1 {
          let xmf = 0.5 * (x + xNext) - xaFloor
          acc[row + ia] += d - d * xmf
          acc[row + ia + 1] += d * xmf
        } else {
          let s = 1 / (xb - xa)
          let xaf = xa - xaFloor
          let a0 = 0.5 * s * (1 - xaf) * (1 - xaf)
          let xbf = xb - xbCeil + 1
          let am = 0.5 * s * xbf * xbf
          acc[row + ia] += d * a0
          if ib == ia + 2 {
            acc[row + ia + 1] += d * (1 - a0 - am)
          } else {
            let a1 = s * (1.5 - xaf)
            acc[row + ia + 1] += d * (a1 - a0)
            if ia + 2 < ib - 1 { for xi in (ia + 2)..<(ib - 1) { acc[row + xi] += d * s } }
            let a2 = a1 + Float(ib - ia - 3) * s
            acc[row + ib - 1] += d * (1 - a2 - am)
          }
          acc[row + ib] += d * am
        }
        x = xNext
      }
    }
  }
}

/// A paint resolved to pixel space.
struct Shader {
  let start: Point, direction: Point, from: Colour, to: Colour, isSolid: Bool

  init(_ paint: Paint, _ transform: Affine) {
    switch paint {
    case .solid(let c):
      start = Point(0, 0); direction = Point(0, 0); from = c; to = c; isSolid = true
    case .linear(let s, let f, let e, let t):
      let ps = transform.apply(s), pe = transform.apply(e), d = pe - ps
      let lengthSquared = max(d.x * d.x + d.y * d.y, 1e-6)
      start = ps; direction = Point(d.x / lengthSquared, d.y / lengthSquared); from = f; to = t; isSolid = false
    }
  }

  @inline(__always) func colour(_ x: Float, _ y: Float) -> Colour {
    if isSolid { return from }
    let t = min(1, max(0, (x - start.x) * direction.x + (y - start.y) * direction.y))
    return from.mixed(with: to, t)
  }
}
