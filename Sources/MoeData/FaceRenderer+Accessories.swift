// FaceRenderer+Accessories: glasses, hats (beret, witch hat, cap) and a ribbon bow.
import Foundation

extension FaceDrawing {
  func drawGlasses() {
    let frame = v.glassesColour
    for (index, c) in eyes.enumerated() {
      let centre = Point(c.x, c.y + 0.004)
      let lens: [Point]
      if v.roundGlasses {
        lens = Shapes.ellipse(centre, 0.072, 0.066, segments: 22)
      } else {  // a rounded rectangle (superellipse)
        lens = (0..<24).map { k in
          let a = Float(k) / 24 * 2 * .pi, cs = cos(a), sn = sin(a)
          return Point(centre.x + 0.075 * copysign(pow(abs(cs), 0.5), cs), centre.y + 0.058 * copysign(pow(abs(sn), 0.5), sn))
        }
      }
      fill(lens, .solid(Colour(205, 225, 255)), opacity: 0.18)
      stroke(lens + [lens[0]], frame, 0.012)
      let outward: Float = index == 0 ? -1 : 1
      stroke([Point(c.x + outward * 0.074, c.y - 0.01), Point(0.5 + outward * (jaw + 0.01), c.y - 0.025)], frame, 0.01)
    }
    stroke(quad(Point(eyes[0].x + 0.072, eyes[0].y - 0.005), Point(0.5, eyes[0].y - 0.03), Point(eyes[1].x - 0.072, eyes[1].y - 0.005)),
           frame, 0.01)
  }

  func drawHat() {
    let colour = v.hatColour, line = colour.scaled(0.45).mixed(with: .black, 0.3)
    let band = v.ribbonColour == colour ? colour.scaled(0.6) : v.ribbonColour
    switch v.hatKind {
    case 0:  // beret, tilted to one side
      let beret = Shapes.ellipse(Point(0.5 + 0.05 * v.side, 0.17), 0.3, 0.11, angle: 0.18 * v.side, segments: 28)
      fill(beret, vertical(0.06, colour.lightened(0.2), 0.28, colour.scaled(0.8)))
      stroke(beret + [beret[0]], line, 0.01)
      fill(Shapes.ellipse(Point(0.5 + 0.08 * v.side, 0.055), 0.02, 0.03, segments: 10), .solid(colour.scaled(0.8)))
    case 1:  // witch hat: a wide brim and a bent cone
      let brim = Shapes.ellipse(Point(0.5, 0.24), 0.42, 0.075, segments: 30)
      fill(brim, .solid(colour.scaled(0.85)))
      stroke(brim + [brim[0]], line, 0.01)
      var cone = Outline(start: Point(0.31, 0.23), curveSteps: steps)
      cone.quad(Point(0.38, 0.05), Point(0.5 + 0.2 * v.side, -0.12))
      cone.quad(Point(0.6, 0.05), Point(0.69, 0.23))
      cone.quad(Point(0.5, 0.27), Point(0.31, 0.23))
      fill(cone.points, vertical(-0.1, colour.lightened(0.15), 0.25, colour.scaled(0.8)))
      stroke(cone.points + [cone.points[0]], line, 0.01)
      stroke(quad(Point(0.325, 0.19), Point(0.5, 0.235), Point(0.675, 0.19)), band, 0.03)
    default:  // cap: a dome with a front brim
      var dome = Outline(start: Point(0.22, 0.3), curveSteps: steps)
      dome.cubic(Point(0.22, 0.02), Point(0.78, 0.02), Point(0.78, 0.3))
      dome.quad(Point(0.5, 0.25), Point(0.22, 0.3))
      fill(dome.points, vertical(0.05, colour.lightened(0.2), 0.3, colour.scaled(0.85)))
      stroke(dome.points + [dome.points[0]], line, 0.01)
      let brim = Shapes.ellipse(Point(0.5, 0.3), 0.3, 0.05, segments: 26)
      fill(brim, .solid(colour.scaled(0.7)))
      stroke(brim + [brim[0]], line, 0.009)
      stroke(quad(Point(0.25, 0.255), Point(0.5, 0.22), Point(0.75, 0.255)), band, 0.022)
    }
  }

  func drawRibbon() {
    let colour = v.ribbonColour, line = colour.scaled(0.45).mixed(with: .black, 0.35)
    let knot = tags.hat ? Point(0.5 + 0.24 * v.side, 0.2) : Point(0.5 + 0.2 * v.side, 0.17)
    let tilt = 0.35 * v.side
    func rotated(_ dx: Float, _ dy: Float) -> Point {
      Point(knot.x + dx * cos(tilt) - dy * sin(tilt), knot.y + dx * sin(tilt) + dy * cos(tilt))
    }
    for dir: Float in [-1, 1] {
      var loop = Outline(start: rotated(0, 0), curveSteps: steps)
      loop.cubic(rotated(dir * 0.05, -0.09), rotated(dir * 0.13, -0.07), rotated(dir * 0.12, 0))
      loop.cubic(rotated(dir * 0.13, 0.07), rotated(dir * 0.05, 0.08), rotated(0, 0))
      fill(loop.points, .solid(colour))
      stroke(loop.points, line, 0.008)
      let tail = [rotated(0, 0.01), rotated(dir * 0.03, 0.07), rotated(dir * 0.05, 0.12), rotated(dir * 0.02, 0.1)]
      fill(tail, .solid(colour.scaled(0.85)))
    }
    let centre = Shapes.ellipse(knot, 0.026, 0.03, angle: tilt, segments: 12)
    fill(centre, .solid(colour.scaled(0.9)))
    stroke(centre + [centre[0]], line, 0.007)
  }
}
