// TagVocabulary+Data: MoeKit's own copy of the MakeGirls 34-tag vocabulary and its sampling priors (tags.json).
import Foundation
import MoeQuant

extension TagVocabulary {
  /// The built-in MakeGirls.moe vocabulary (34 tags).
  public static let makeGirls: TagVocabulary = {
    // The JSON is part of the binary and covered by tests; a decoding failure is a programming error.
    try! JSONDecoder().decode(TagVocabulary.self, from: Data(makeGirlsJSON.utf8))
  }()

  /// The MakeGirls.moe 128×128 model's vocabulary, as JSON (same content as the project's tags.json).
  public static let makeGirlsJSON = #"""
{
  "about": "The 34-tag vocabulary of the MakeGirls.moe 128x128 model (input = 128 noise values N(0,1) followed by these 34 tags, +1 on / -1 off), in input order, with the sampling priors its web page used. Groups marked one_of take exactly one tag on.",
  "noise_length": 128,
  "groups": [
    {"name": "hair_color", "one_of": true, "tags": ["blonde_hair", "brown_hair", "black_hair", "blue_hair", "pink_hair", "purple_hair", "green_hair", "red_hair", "silver_hair", "white_hair", "orange_hair", "aqua_hair", "grey_hair"],
     "prior": [0.160, 0.213, 0.155, 0.105, 0.080, 0.095, 0.036, 0.077, 0.032, 0.018, 0.022, 0.005, 0.002]},
    {"name": "hair_style", "one_of": false, "tags": ["long_hair", "short_hair", "twin_tail", "drill_hair", "ponytail"],
     "prior": [0.25, 0.25, 0.25, 0.25, 0.25]},
    {"name": "other", "one_of": false, "tags": ["blush", "smile", "open_mouth", "hat", "ribbon", "glasses"],
     "prior": [0.6, 0.6, 0.25, 0.0449, 0.3, 0.0538]},
    {"name": "eye_color", "one_of": true, "tags": ["blue_eyes", "red_eyes", "brown_eyes", "green_eyes", "purple_eyes", "yellow_eyes", "pink_eyes", "aqua_eyes", "black_eyes", "orange_eyes"],
     "prior": [0.284, 0.158, 0.179, 0.134, 0.142, 0.054, 0.010, 0.006, 0.032, 0.002]}
  ]
}
"""#
}
