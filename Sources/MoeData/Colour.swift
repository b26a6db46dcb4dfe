// Colour: linear-blend RGB colours in 0…1 for the rasterizer and the face palette.

/// An RGB colour with components in 0…1.
public struct Colour: Equatable, Sendable {
  public var r: Float, g: Float, b: Float

  public init(r: Float, g: Float, b: Float) { self.r = r; self.g = g; self.b = b }

  /// A colour from 0…255 components.
  public init(_ r: Int, _ g: Int, _ b: Int) { self.init(r: Float(r) / 255, g: Float(g) / 255, b: Float(b) / 255) }

  /// `self` moved a fraction `t` of the way to `other`.
  public func mixed(with other: Colour, _ t: Float) -> Colour {
    Colour(r: r + (other.r - r) * t, g: g + (other.g - g) * t, b: b + (other.b - b) * t)
  }

  /// Each component multiplied by `k` (darker for k < 1), clamped to 1.
  public func scaled(_ k: Float) -> Colour { Colour(r: min(1, r * k), g: min(1, g * k), b: min(1, b * k)) }

  /// Mixed towards white by `t`.
  public func lightened(_ t: Float) -> Colour { mixed(with: .white, t) }

  public static let white = Colour(r: 1, g: 1, b: 1)
  public static let black = Colour(r: 0, g: 0, b: 0)
}
