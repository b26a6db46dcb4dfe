// FaceVariation: everything about a synthetic face that is not a tag, drawn from its own random stream.
import MoeModels
import MoeQuant

/// Untagged variation of a face: shape, pose, skin, background, hair silhouette, line weight, colours of
/// accessories. Drawn with a fixed number of draws, so it depends only on the seed, never on the tags.
public struct FaceVariation: Sendable {
  /// Head pose: rotation (radians), scale and offset (design units).
  public var angle: Float, scale: Float, offset: Point
  /// Face shape: jaw width, chin length, chin roundness (0 pointed … 1 round).
  public var jawWidth: Float, chinLength: Float, chinRound: Float
  /// Eye size and spacing multipliers, and eye height.
  public var eyeScale: Float, eyeSpacing: Float, eyeY: Float
  public var skin: Colour
  public var backgroundTop: Colour, backgroundBottom: Colour
  public var lineWeight: Float
  /// Fringe: strand count, parting position (−1 … 1), lengths jitter per strand.
  public var fringeStrands: Int, parting: Float, fringeJitter: [Float]
  /// Hair volume (silhouette width multiplier) and length of the default/long hair.
  public var hairVolume: Float, hairLength: Float
  /// Side of the ponytail and ribbon (−1 left, 1 right); hat kind (0 beret, 1 witch hat, 2 cap).
  public var side: Float, hatKind: Int
  public var ribbonColour: Colour, hatColour: Colour, clothesColour: Colour, glassesColour: Colour
  /// Round (true) or rectangular glasses frames.
  public var roundGlasses: Bool
  /// A single strand standing up from the crown (an "ahoge").
  public var ahoge: Bool

  /// Draws a variation from `rng`.
  public init(using rng: inout SeededGenerator) {
    func u(_ lo: Float, _ hi: Float) -> Float { Float.random(in: lo..<hi, using: &rng) }
    func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    angle = u(-0.14, 0.14)
    scale = u(1.0, 1.14)
    offset = Point(u(-0.035, 0.035), u(-0.04, 0.02))
    jawWidth = u(0.88, 1.08)
    chinLength = u(0.94, 1.06)
    chinRound = u(0, 1)
    eyeScale = u(0.92, 1.12)
    eyeSpacing = u(0.94, 1.06)
    eyeY = u(-0.012, 0.012)
    skin = pick(FacePalette.skin).mixed(with: pick(FacePalette.skin), u(0, 1))
    let hue = u(0, 1), saturation = u(0.05, 0.35), value = u(0.75, 1)
    backgroundTop = FaceVariation.hsv(hue, saturation, value)
    backgroundBottom = FaceVariation.hsv(hue + u(-0.1, 0.1), saturation * u(0.5, 1.3), value * u(0.8, 1))
    lineWeight = u(0.75, 1.3)
    fringeStrands = Int.random(in: 5...8, using: &rng)
    parting = u(-0.6, 0.6)
    fringeJitter = (0..<9).map { _ in u(-1, 1) }
    hairVolume = u(0.94, 1.1)
    hairLength = u(0, 1)
    side = Bool.random(using: &rng) ? 1 : -1
    hatKind = Int.random(in: 0...2, using: &rng)
    ribbonColour = pick(FacePalette.accessory)
    hatColour = pick(FacePalette.accessory)
    clothesColour = pick(FacePalette.accessory).mixed(with: .white, u(0, 0.3))
    glassesColour = pick([Colour(30, 30, 40), Colour(150, 30, 40), Colour(60, 40, 30), Colour(40, 50, 120)])
    roundGlasses = Bool.random(using: &rng)
    ahoge = Float.random(in: 0..<1, using: &rng) < 0.25
  }

  /// A colour from hue (wrapping), saturation and value in 0…1.
  static func hsv(_ h: Float, _ s: Float, _ v: Float) -> Colour {
    let hue = (h - h.rounded(.down)) * 6, sector = Int(hue) % 6, f = hue - Float(Int(hue))
    let s = min(max(s, 0), 1), v = min(max(v, 0), 1)
    let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
    switch sector {
    case 0: return Colour(r: v, g: t, b: p)
    case 1: return Colour(r: q, g: v, b: p)
    case 2: return Colour(r: p, g: v, b: t)
    case 3: return Colour(r: p, g: q, b: v)
    case 4: return Colour(r: t, g: p, b: v)
    default: return Colour(r: v, g: p, b: q)
    }
  }
}
