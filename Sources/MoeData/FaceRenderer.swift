// FaceRenderer: draws one anime-style face for a tag vector and a variation (layers back to front).
import Foundation
import MoeModels

/// Draws anime-style faces with the rasterizer of `Canvas`: background, back hair and tails, body, face,
/// eyes, mouth, blush, front hair (fringe and side locks), then glasses, hat and ribbon.
public struct FaceRenderer: Sendable {
  /// Image side in pixels.
  public let size: Int

  public init(size: Int) { self.size = size }

  /// The face for `tags` (a ±1 vector in vocabulary order) with the untagged `variation`.
  public func render(tags: [Float], variation: FaceVariation) -> Canvas {
    let canvas = Canvas(size: size)
    var drawing = FaceDrawing(canvas: canvas, tags: FaceTags(tags), variation: variation)
    drawing.draw()
    return canvas
  }
}

/// One face being drawn: the canvas, what to draw, and the layout derived from the variation.
struct FaceDrawing {
  let canvas: Canvas
  let tags: FaceTags
  let v: FaceVariation
  /// Hair colours: base, shadow, highlight, outline.
  let hair: Colour, hairShadow: Colour, hairLight: Colour, hairLine: Colour
  /// Face outline colour and line-weight multiplier.
  let skinLine: Colour, weight: Float
  /// Chin height and jaw half-width (design units).
  let chinY: Float, jaw: Float
  /// Eye centres (left, right) and eye scale.
  let eyes: [Point], eyeScale: Float
  /// Segments per curve, fewer on small canvases.
  let steps: Int

  init(canvas: Canvas, tags: FaceTags, variation: FaceVariation) {
    self.canvas = canvas
    self.tags = tags
    v = variation
    let base = FacePalette.hair[tags.hairColour] ?? Colour(120, 80, 50)
    hair = base
    let luminance = 0.3 * base.r + 0.59 * base.g + 0.11 * base.b
    // Very light hair (white, silver, blonde) is shaded less, so it stays light.
    hairShadow = base.scaled(luminance > 0.75 ? 0.92 : 0.8)
    hairLight = base.lightened(luminance < 0.25 ? 0.25 : 0.45)
    hairLine = base.scaled(luminance > 0.75 ? 0.6 : 0.45)
    skinLine = variation.skin.scaled(0.55).mixed(with: Colour(90, 40, 40), 0.3)
    weight = variation.lineWeight
    chinY = 0.5 + 0.3 * variation.chinLength
    jaw = 0.225 * variation.jawWidth
    let spacing = 0.105 * variation.eyeSpacing, eyeY = 0.57 + variation.eyeY
    eyes = [Point(0.5 - spacing, eyeY), Point(0.5 + spacing, eyeY)]
    eyeScale = variation.eyeScale
    steps = canvas.size <= 48 ? 6 : canvas.size <= 96 ? 8 : 12
  }

  mutating func draw() {
    canvas.fillBackground(top: v.backgroundTop, bottom: v.backgroundBottom)
    canvas.transform = .pose(centre: Point(0.5, 0.55), angle: v.angle, scale: v.scale, offset: v.offset,
                             pixels: Float(canvas.size))
    drawBackHair()
    drawBody()
    drawFace()
    for (index, centre) in eyes.enumerated() { drawEye(centre, outward: index == 0 ? -1 : 1) }
    drawMouth()
    if tags.blush { drawBlush() }
    drawFrontHair()
    if tags.glasses { drawGlasses() }
    if tags.hat { drawHat() }
    if tags.ribbon { drawRibbon() }
  }

  // MARK: - Helpers

  func fill(_ polygon: [Point], _ paint: Paint, opacity: Float = 1) { canvas.fill([polygon], paint, opacity: opacity) }

  func stroke(_ path: [Point], _ colour: Colour, _ width: Float, taper: Bool = false, opacity: Float = 1) {
    let w = width * weight
    let polygons = taper ? Shapes.stroke(path, startWidth: w * 0.2, middleWidth: w, endWidth: w * 0.2)
                         : Shapes.stroke(path, width: w)
    canvas.fill(polygons, .solid(colour), opacity: opacity)
  }

  func quad(_ a: Point, _ c: Point, _ b: Point) -> [Point] { Shapes.quadCurve(a, c, b, steps: steps) }

  func cubic(_ a: Point, _ c1: Point, _ c2: Point, _ b: Point) -> [Point] { Shapes.cubicCurve(a, c1, c2, b, steps: steps) }

  /// A vertical gradient paint between two heights.
  func vertical(_ top: Float, _ from: Colour, _ bottom: Float, _ to: Colour) -> Paint {
    .linear(start: Point(0.5, top), from: from, end: Point(0.5, bottom), to: to)
  }

  // MARK: - Body and face

  func drawBody() {
    let skin = v.skin
    fill([Point(0.445, 0.66), Point(0.555, 0.66), Point(0.565, 0.97), Point(0.435, 0.97)],
         vertical(chinY - 0.02, skin.scaled(0.8), chinY + 0.08, skin.scaled(0.95)))
    // Ears at the sides of the face (often under the side locks).
    for side: Float in [-1, 1] {
      let ear = Shapes.ellipse(Point(0.5 + side * (jaw + 0.005), 0.585), 0.025, 0.042, angle: side * 0.2, segments: 12)
      fill(ear, .solid(v.skin.scaled(0.93)))
      stroke(ear + [ear[0]], skinLine, 0.006)
    }
    var body = Outline(start: Point(0.06, 1.1), curveSteps: steps)
    body.cubic(Point(0.1, 0.93), Point(0.3, 0.9), Point(0.44, 0.88))
    body.line(Point(0.56, 0.88))
    body.cubic(Point(0.7, 0.9), Point(0.9, 0.93), Point(0.94, 1.1))
    fill(body.points, vertical(0.86, v.clothesColour, 1.0, v.clothesColour.scaled(0.8)))
    // A white sailor-style collar: two triangles meeting under the chin.
    let collar = Colour(250, 250, 252)
    fill([Point(0.44, 0.875), Point(0.5, 0.97), Point(0.33, 0.92)], .solid(collar))
    fill([Point(0.56, 0.875), Point(0.5, 0.97), Point(0.67, 0.92)], .solid(collar))
    stroke(body.points, v.clothesColour.scaled(0.5), 0.008)
  }

  func drawFace() {
    let left = 0.5 - jaw, right = 0.5 + jaw, round = v.chinRound
    var face = Outline(start: Point(left, 0.42), curveSteps: steps)
    face.cubic(Point(left, 0.6), Point(0.5 - 0.07 - 0.07 * round, chinY - 0.015 * (1 - round)), Point(0.5, chinY))
    face.cubic(Point(0.5 + 0.07 + 0.07 * round, chinY - 0.015 * (1 - round)), Point(right, 0.6), Point(right, 0.42))
    face.cubic(Point(right, 0.14), Point(left, 0.14), Point(left, 0.42))
    fill(face.points, vertical(0.35, v.skin, chinY, v.skin.scaled(0.97)))
    let jawLine = Array(face.points[0...(2 * steps)])
    stroke(jawLine, skinLine, 0.009, taper: true)
    // Nose: a short shadow stroke.
    stroke([Point(0.503, 0.655), Point(0.497, 0.668)], v.skin.scaled(0.7), 0.008)
  }

  func drawEye(_ c: Point, outward: Float) {
    let s = eyeScale
    let colour = FacePalette.eyes[tags.eyeColour] ?? Colour(40, 95, 230)
    let lash = Colour(45, 25, 30)
    // Eyebrow, thin and tapered.
    let brow = quad(Point(c.x - outward * 0.045 * s, c.y - 0.095), Point(c.x + outward * 0.01, c.y - 0.125),
                    Point(c.x + outward * 0.065 * s, c.y - 0.1))
    stroke(brow, hairLine, 0.012, taper: true)
    fill(Shapes.ellipse(Point(c.x, c.y + 0.002), 0.058 * s, 0.056 * s), .solid(Colour(250, 250, 255)))
    let iris = Point(c.x - outward * 0.004, c.y + 0.006 * s)
    fill(Shapes.ellipse(iris, 0.047 * s, 0.057 * s), .solid(colour.scaled(0.4)))
    fill(Shapes.ellipse(iris, 0.041 * s, 0.051 * s),
         vertical(iris.y - 0.045 * s, colour.scaled(0.7), iris.y + 0.03 * s, colour.lightened(0.25)))
    fill(Shapes.ellipse(Point(iris.x, iris.y - 0.004 * s), 0.017 * s, 0.025 * s, segments: 14),
         .solid(colour.scaled(0.25)))
    fill(Shapes.ellipse(Point(iris.x - 0.016 * s, iris.y - 0.022 * s), 0.014 * s, 0.016 * s, segments: 12), .solid(.white))
    fill(Shapes.ellipse(Point(iris.x + 0.016 * s, iris.y + 0.024 * s), 0.007 * s, 0.007 * s, segments: 10), .solid(.white),
         opacity: 0.9)
    // Upper lid: a thick lash line over the top of the iris with a flick at the outer corner.
    let inner = Point(c.x - outward * 0.058 * s, c.y - 0.022 * s), outer = Point(c.x + outward * 0.066 * s, c.y - 0.03 * s)
    let lid = quad(inner, Point(c.x, c.y - 0.088 * s), outer)
    canvas.fill(Shapes.stroke(lid, startWidth: 0.006 * weight, middleWidth: 0.022 * weight, endWidth: 0.02 * weight),
                .solid(lash))
    stroke([outer, Point(outer.x + outward * 0.02 * s, outer.y + 0.022 * s)], lash, 0.012, taper: false)
    // Lower lid: a short thin line at the outer bottom.
    stroke(quad(Point(c.x, c.y + 0.06 * s), Point(c.x + outward * 0.04 * s, c.y + 0.058 * s),
                Point(c.x + outward * 0.058 * s, c.y + 0.035 * s)), lash, 0.007, taper: true, opacity: 0.85)
  }

  func drawMouth() {
    let y = chinY - 0.075
    let line = Colour(120, 45, 50), inside = Colour(150, 40, 55), tongue = Colour(240, 125, 130)
    switch (tags.smile, tags.openMouth) {
    case (false, false):
      stroke(quad(Point(0.478, y + 0.002), Point(0.5, y - 0.003), Point(0.522, y + 0.002)), line, 0.009)
    case (true, false):  // a wide closed smile turned up at the corners
      stroke(quad(Point(0.452, y - 0.014), Point(0.5, y + 0.03), Point(0.548, y - 0.014)), line, 0.013, taper: true)
    case (false, true):  // a round open "o"
      let o = Shapes.ellipse(Point(0.5, y + 0.006), 0.026, 0.032, segments: 14)
      fill(o, .solid(inside))
      fill(Shapes.ellipse(Point(0.5, y + 0.024), 0.017, 0.011, segments: 10), .solid(tongue))
      stroke(o + [o[0]], line, 0.006)
    case (true, true):  // an open smile: flat top, round bottom
      var mouth = Outline(start: Point(0.448, y - 0.014), curveSteps: steps)
      mouth.line(Point(0.552, y - 0.014))
      mouth.cubic(Point(0.546, y + 0.036), Point(0.454, y + 0.036), Point(0.448, y - 0.014))
      fill(mouth.points, .solid(inside))
      fill(Shapes.ellipse(Point(0.5, y + 0.014), 0.022, 0.009, segments: 10), .solid(tongue))
      stroke(mouth.points, line, 0.006)
    }
  }

  func drawBlush() {
    let pink = Colour(255, 105, 130)
    for side: Float in [-1, 1] {
      let c = Point(0.5 + side * 0.13, eyes[0].y + 0.08)
      fill(Shapes.ellipse(c, 0.058, 0.026, segments: 16), .solid(pink), opacity: 0.55)
      for k: Float in [-1, 0, 1] {
        let x = c.x + k * 0.02
        stroke([Point(x + 0.007, c.y - 0.014), Point(x - 0.007, c.y + 0.014)], Colour(225, 70, 95), 0.006, opacity: 0.85)
      }
    }
  }
}
