// FacePalette: the colours of the tag vocabulary's hair and eye colours, and of non-tag parts.
import MoeModels
import MoeQuant

/// Colours the renderer uses for tagged attributes (keyed by tag name) and for untagged variation.
public enum FacePalette {
  /// Base hair colour per hair-colour tag.
  public static let hair: [String: Colour] = [
    "blonde_hair": Colour(250, 222, 120), "brown_hair": Colour(135, 85, 48), "black_hair": Colour(42, 38, 50),
    "blue_hair": Colour(55, 100, 225), "pink_hair": Colour(250, 145, 190), "purple_hair": Colour(135, 75, 195),
    "green_hair": Colour(60, 170, 75), "red_hair": Colour(215, 35, 40), "silver_hair": Colour(190, 198, 218),
    "white_hair": Colour(248, 248, 250), "orange_hair": Colour(252, 135, 35), "aqua_hair": Colour(55, 215, 210),
    "grey_hair": Colour(125, 125, 130),
  ]

  /// Iris colour per eye-colour tag.
  public static let eyes: [String: Colour] = [
    "blue_eyes": Colour(40, 95, 230), "red_eyes": Colour(215, 25, 40), "brown_eyes": Colour(135, 75, 30),
    "green_eyes": Colour(35, 165, 55), "purple_eyes": Colour(145, 60, 210), "yellow_eyes": Colour(245, 200, 30),
    "pink_eyes": Colour(245, 105, 170), "aqua_eyes": Colour(30, 205, 205), "black_eyes": Colour(35, 30, 40),
    "orange_eyes": Colour(248, 130, 25),
  ]

  /// Skin tones from pale to light tan (untagged variation).
  public static let skin: [Colour] = [Colour(255, 238, 228), Colour(252, 226, 210), Colour(246, 214, 192), Colour(236, 198, 170)]

  /// Accessory colours for ribbons, hats and clothes.
  public static let accessory: [Colour] = [
    Colour(220, 30, 50), Colour(245, 120, 170), Colour(250, 250, 250), Colour(40, 60, 150), Colour(30, 30, 35),
    Colour(250, 200, 40), Colour(120, 60, 170), Colour(40, 140, 90), Colour(110, 70, 45),
  ]
}

/// The tagged attributes of one face, decoded from a ±1 tag vector.
public struct FaceTags: Sendable {
  public var hairColour: String
  public var eyeColour: String
  /// The hair-style tags that are on (several may be).
  public var styles: Set<String>
  public var blush: Bool, smile: Bool, openMouth: Bool, hat: Bool, ribbon: Bool, glasses: Bool

  /// Decodes `vector` (vocabulary order, > 0 meaning on). A one-of group with no tag on takes its first tag.
  public init(_ vector: [Float], vocabulary: TagVocabulary = .makeGirls) {
    let names = vocabulary.tags
    precondition(vector.count == names.count, "FaceTags: \(vector.count) tags; expected \(names.count)")
    let on = Set(names.indices.filter { vector[$0] > 0 }.map { names[$0] })
    func first(of group: String) -> String {
      let tags = vocabulary.groups.first { $0.name == group }?.tags ?? []
      return tags.first { on.contains($0) } ?? tags.first ?? ""
    }
    hairColour = first(of: "hair_color")
    eyeColour = first(of: "eye_color")
    styles = on.intersection(["long_hair", "short_hair", "twin_tail", "drill_hair", "ponytail"])
    blush = on.contains("blush"); smile = on.contains("smile"); openMouth = on.contains("open_mouth")
    hat = on.contains("hat"); ribbon = on.contains("ribbon"); glasses = on.contains("glasses")
  }
}
