// Geometry: points, affine transforms and outline builders (bezier paths, ellipses, tapered strokes).
import Foundation

/// A 2-D point (design units: the unit square, y down; or canvas pixels).
public struct Point: Equatable, Sendable {
  public var x: Float, y: Float
  public init(_ x: Float, _ y: Float) { self.x = x; self.y = y }
  static func + (a: Point, b: Point) -> Point { Point(a.x + b.x, a.y + b.y) }
  static func - (a: Point, b: Point) -> Point { Point(a.x - b.x, a.y - b.y) }
  static func * (a: Point, k: Float) -> Point { Point(a.x * k, a.y * k) }
  var length: Float { (x * x + y * y).squareRoot() }
  /// `self` moved a fraction `t` towards `other`.
  func lerp(_ other: Point, _ t: Float) -> Point { Point(x + (other.x - x) * t, y + (other.y - y) * t) }
}

/// An affine map p ↦ (a·x + c·y + tx, b·x + d·y + ty).
public struct Affine: Sendable {
  public var a: Float, b: Float, c: Float, d: Float, tx: Float, ty: Float

  public static let identity = Affine(a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0)

  /// Scale by `scale`, rotate by `angle` (radians) about `centre`, then shift by `offset`, then map the unit
  /// square onto `pixels`×`pixels`.
  public static func pose(centre: Point, angle: Float, scale: Float, offset: Point, pixels: Float) -> Affine {
    let cs = cos(angle) * scale * pixels, sn = sin(angle) * scale * pixels
    // p' = pixels·(R·s·(p − centre) + centre + offset)
    let tx = pixels * (centre.x + offset.x) - (cs * centre.x - sn * centre.y)
    let ty = pixels * (centre.y + offset.y) - (sn * centre.x + cs * centre.y)
    return Affine(a: cs, b: sn, c: -sn, d: cs, tx: tx, ty: ty)
  }

  public func apply(_ p: Point) -> Point { Point(a * p.x + c * p.y + tx, b * p.x + d * p.y + ty) }

  /// How much lengths grow.
  public var lengthScale: Float { (abs(a * d - b * c)).squareRoot() }
}

/// A closed outline built from straight and bezier segments, flattened to a polygon as it is built.
public struct Outline: Sendable {
  /// The flattened vertices.
  public private(set) var points: [Point]
  /// Segments per bezier curve.
  public var curveSteps: Int

  public init(start: Point, curveSteps: Int = 8) {
    points = [start]
    self.curveSteps = curveSteps
  }

  var current: Point { points[points.count - 1] }

  public mutating func line(_ p: Point) { points.append(p) }

  public mutating func quad(_ control: Point, _ end: Point) {
    let p0 = current
    for i in 1...curveSteps {
      let t = Float(i) / Float(curveSteps), u = 1 - t
      points.append(p0 * (u * u) + control * (2 * u * t) + end * (t * t))
    }
  }

  public mutating func cubic(_ c1: Point, _ c2: Point, _ end: Point) {
    let p0 = current
    for i in 1...curveSteps {
      let t = Float(i) / Float(curveSteps), u = 1 - t
      points.append(p0 * (u * u * u) + c1 * (3 * u * u * t) + c2 * (3 * u * t * t) + end * (t * t * t))
    }
  }
}

/// Shape builders in design units.
public enum Shapes {
  /// An ellipse polygon with `segments` vertices, rotated by `angle`.
  public static func ellipse(_ centre: Point, _ rx: Float, _ ry: Float, angle: Float = 0, segments: Int = 20) -> [Point] {
    let cs = cos(angle), sn = sin(angle)
    return (0..<segments).map { i in
      let t = Float(i) / Float(segments) * 2 * .pi
      let x = rx * cos(t), y = ry * sin(t)
      return Point(centre.x + x * cs - y * sn, centre.y + x * sn + y * cs)
    }
  }

  /// The points of a quadratic bezier from `p0` to `p2`.
  public static func quadCurve(_ p0: Point, _ control: Point, _ p2: Point, steps: Int = 8) -> [Point] {
    var o = Outline(start: p0, curveSteps: steps)
    o.quad(control, p2)
    return o.points
  }

  /// The points of a cubic bezier from `p0` to `p3`.
  public static func cubicCurve(_ p0: Point, _ c1: Point, _ c2: Point, _ p3: Point, steps: Int = 10) -> [Point] {
    var o = Outline(start: p0, curveSteps: steps)
    o.cubic(c1, c2, p3)
    return o.points
  }

  /// A stroke along `path` as polygons (one quad per segment plus round joins) whose width goes from
  /// `startWidth` through `middleWidth` (at the middle) to `endWidth`; fill them together as a union.
  public static func stroke(_ path: [Point], startWidth: Float, middleWidth: Float, endWidth: Float) -> [[Point]] {
    guard path.count >= 2 else { return [] }
    let n = path.count - 1
    func width(_ i: Int) -> Float {
      let t = Float(i) / Float(n)
      return t < 0.5 ? startWidth + (middleWidth - startWidth) * t * 2 : middleWidth + (endWidth - middleWidth) * (t - 0.5) * 2
    }
    var polygons: [[Point]] = []
    for i in 0..<n {
      let p = path[i], q = path[i + 1], d = q - p, len = d.length
      guard len > 1e-6 else { continue }
      let normal = Point(-d.y / len, d.x / len)
      let wp = width(i) / 2, wq = width(i + 1) / 2
      polygons.append([p + normal * wp, q + normal * wq, q - normal * wq, p - normal * wp])
      if i > 0 && wp > 0 { polygons.append(ellipse(p, wp, wp, segments: 8)) }
    }
    return polygons
  }

  /// A stroke of constant `width`.
  public static func stroke(_ path: [Point], width: Float) -> [[Point]] {
    stroke(path, startWidth: width, middleWidth: width, endWidth: width)
  }
}
