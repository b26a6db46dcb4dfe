// FaceRenderer+Hair: back hair (length by style), twin tails, drills, ponytail, and the fringe with side locks.
import Foundation

extension FaceDrawing {
  var isLong: Bool { tags.styles.contains("long_hair") }
  var isShort: Bool { tags.styles.contains("short_hair") }
  var tiedUp: Bool { !tags.styles.isDisjoint(with: ["twin_tail", "ponytail"]) }

  /// The hair paint: lighter at the crown, base colour lower down, shadowed at the ends.
  func hairPaint(_ top: Float, _ bottom: Float) -> Paint { vertical(top, hair.mixed(with: hairLight, 0.35), bottom, hairShadow) }

  // MARK: - Behind the face

  func drawBackHair() {
    if tags.styles.contains("ponytail") { drawPonytail() }
    if tags.styles.contains("twin_tail") { for side: Float in [-1, 1] { drawTwinTail(side) } }
    // Length of the hair behind the head: long, short (a bob), tied up, or medium when no style says.
    let end: Float = isLong ? 1.12 : isShort ? 0.68 : tiedUp ? 0.56 : 0.8 + 0.08 * v.hairLength
    let half = 0.29 * v.hairVolume + (isLong ? 0.03 : 0)
    var back = Outline(start: Point(0.5 - half, 0.4), curveSteps: steps)
    back.cubic(Point(0.5 - half - 0.02, 0.55), Point(0.5 - half - (isLong ? 0.05 : 0), end - 0.15), Point(0.5 - half + 0.02, end))
    // A jagged bottom edge: strand tips.
    let tips = 6
    for i in 1...tips {
      let t = Float(i) / Float(tips), x = (0.5 - half + 0.02) + t * (2 * half - 0.04)
      let notchX = x - (2 * half - 0.04) / Float(tips) / 2
      back.line(Point(notchX, end - 0.05 - 0.02 * abs(v.fringeJitter[i])))
      back.line(Point(x, end - (i == tips ? 0 : 0.015 * v.fringeJitter[i])))
    }
    back.cubic(Point(0.5 + half + (isLong ? 0.05 : 0), end - 0.15), Point(0.5 + half + 0.02, 0.55), Point(0.5 + half, 0.4))
    back.cubic(Point(0.5 + half, 0.02), Point(0.5 - half, 0.02), Point(0.5 - half, 0.4))
    fill(back.points, vertical(0.2, hair.mixed(with: hairShadow, 0.5), end, hairShadow.scaled(0.9)))
    // A few strand shadows running down the back hair.
    for k: Float in [-0.7, -0.35, 0.35, 0.7] where end > 0.6 {
      let x = 0.5 + k * half
      stroke(quad(Point(x * 0.8 + 0.1, 0.5), Point(x + k * 0.04, (0.5 + end) / 2), Point(x + k * 0.02, end - 0.04)), hairShadow.scaled(0.85),
             0.01, taper: true, opacity: 0.8)
    }
    stroke(back.points + [back.points[0]], hairLine, 0.008)
    if tags.styles.contains("drill_hair") { for side: Float in [-1, 1] { drawDrill(side) } }
  }

  func drawTwinTail(_ side: Float) {
    let x = { (dx: Float) -> Float in 0.5 + side * dx }
    var tail = Outline(start: Point(x(0.2), 0.22), curveSteps: steps)
    tail.cubic(Point(x(0.46), 0.14), Point(x(0.52), 0.55), Point(x(0.42), 1.05))
    tail.cubic(Point(x(0.36), 0.75), Point(x(0.3), 0.5), Point(x(0.27), 0.32))
    fill(tail.points, hairPaint(0.2, 1.0))
    stroke(cubic(Point(x(0.28), 0.28), Point(x(0.42), 0.35), Point(x(0.42), 0.65), Point(x(0.41), 0.95)), hairShadow, 0.01,
           taper: true)
    stroke(tail.points + [tail.points[0]], hairLine, 0.008)
    // The tie where the tail leaves the head.
    fill(Shapes.ellipse(Point(x(0.25), 0.25), 0.03, 0.045, angle: side * 0.6, segments: 12), .solid(v.ribbonColour.scaled(0.85)))
  }

  func drawPonytail() {
    let s = v.side, x = { (dx: Float) -> Float in 0.5 + s * dx }
    var tail = Outline(start: Point(x(0.06), 0.1), curveSteps: steps)
    tail.cubic(Point(x(0.48), -0.02), Point(x(0.5), 0.45), Point(x(0.43), 0.9))
    tail.cubic(Point(x(0.38), 0.55), Point(x(0.32), 0.25), Point(x(0.14), 0.18))
    fill(tail.points, hairPaint(0.05, 0.9))
    stroke(cubic(Point(x(0.2), 0.12), Point(x(0.38), 0.15), Point(x(0.44), 0.45), Point(x(0.43), 0.8)), hairShadow, 0.01,
           taper: true)
    stroke(tail.points + [tail.points[0]], hairLine, 0.008)
    fill(Shapes.ellipse(Point(x(0.12), 0.12), 0.035, 0.03, angle: s * 0.5, segments: 12), .solid(v.ribbonColour.scaled(0.85)))
  }

  /// Drill curls: a tapering spiral of slanted ringlets hanging at one side of the face, ending in a point.
  func drawDrill(_ side: Float) {
    let count = 5
    let top = Point(0.5 + side * 0.3, 0.44)
    let tipY: Float = 0.98
    // The pointed end first, then ringlets from the bottom up so each upper turn overlaps the one below.
    let lastY = top.y + Float(count - 1) * 0.1
    let tip = [Point(top.x + side * 0.012 - 0.03, lastY), Point(top.x + side * 0.012 + 0.03, lastY), Point(top.x + side * 0.02, tipY)]
    fill(tip, .solid(hairShadow))
    stroke(tip + [tip[0]], hairLine, 0.006)
    for i in stride(from: count - 1, through: 0, by: -1) {
      let t = Float(i) / Float(count - 1)
      let c = Point(top.x + side * 0.012 * t, top.y + Float(i) * 0.1)
      let rx = 0.075 - 0.03 * t, ry = 0.058 - 0.012 * t
      let ring = Shapes.ellipse(c, rx, ry, angle: side * 0.45, segments: 18)
      fill(ring, vertical(c.y - ry, hairLight.mixed(with: hair, 0.4), c.y + ry, hairShadow))
      stroke(ring + [ring[0]], hairLine, 0.007)
      // The spiral's turn: a shadow arc along the lower half of the ringlet.
      stroke(quad(Point(c.x - rx * 0.85, c.y - side * ry * 0.35), Point(c.x, c.y + ry * 1.1), Point(c.x + rx * 0.85, c.y + side * ry * 0.35)),
             hairShadow.scaled(0.8), 0.008, taper: true)
    }
  }

  // MARK: - In front of the face

  func drawFrontHair() {
    // Short side locks whenever short_hair is on (also over long back hair, so both tags show).
    let lockY: Float = isShort ? 0.63 : isLong ? 0.8 : 0.73
    let left = 0.5 - jaw - 0.04 * v.hairVolume, right = 0.5 + jaw + 0.04 * v.hairVolume
    let innerLeft = 0.5 - jaw + 0.02, innerRight = 0.5 + jaw - 0.02
    var front = Outline(start: Point(innerLeft + 0.02, lockY), curveSteps: steps)
    front.cubic(Point(left - 0.01, lockY - 0.12), Point(left - 0.02, 0.42), Point(left, 0.34))
    front.cubic(Point(left + 0.02, 0.06), Point(right - 0.02, 0.06), Point(right, 0.34))
    front.cubic(Point(right + 0.02, 0.42), Point(right + 0.01, lockY - 0.12), Point(innerRight - 0.02, lockY))
    front.quad(Point(innerRight - 0.005, 0.52), Point(innerRight, 0.43))
    // The fringe: strands from right to left, each a notch up at the hairline then a pointed tip.
    let n = v.fringeStrands, span = innerRight - innerLeft
    let partX = 0.5 + v.parting * 0.12
    var notches: [Point] = []
    for i in 0..<n {
      let tipX = innerRight - span * (Float(i) + 0.5) / Float(n)
      let notchX = innerRight - span * Float(i) / Float(n)
      let notch = Point(notchX, 0.36 + 0.02 * v.fringeJitter[i])
      // Strands near the middle hang lower than those at the temples (an arch), each with its own jitter.
      let arch = 1 - min(1, abs(tipX - 0.5) / (span / 2))
      let tip = Point(tipX + (tipX < partX ? -0.012 : 0.012), 0.445 + 0.045 * arch + 0.022 * v.fringeJitter[(i + 3) % 9])
      if i > 0 { notches.append(notch) }
      front.quad(Point((notch.x + tip.x) / 2 + (tipX < partX ? 0.008 : -0.008), (notch.y + tip.y) / 2), tip)
      let next = Point(innerRight - span * Float(i + 1) / Float(n), 0.36 + 0.02 * v.fringeJitter[(i + 1) % 9])
      if i == n - 1 {
        front.quad(Point((tip.x + innerLeft) / 2, (tip.y + 0.43) / 2), Point(innerLeft, 0.43))
      } else {
        front.quad(Point((next.x + tip.x) / 2, (next.y + tip.y) / 2 + 0.02), next)
      }
    }
    front.quad(Point(innerLeft + 0.005, 0.52), Point(innerLeft + 0.02, lockY))
    fill(front.points, hairPaint(0.12, lockY))
    // Strand shadows from the notches towards the crown.
    let crown = Point(partX, 0.14)
    for notch in notches { stroke([notch, notch.lerp(crown, 0.45)], hairShadow, 0.012, taper: true) }
    // The highlight band (the "angel ring").
    let ring = (0...steps).map { k -> Point in
      let a = Float.pi * (1.2 + 0.6 * Float(k) / Float(steps))
      return Point(0.5 + 0.2 * cos(a), 0.36 + 0.15 * sin(a))
    }
    canvas.fill(Shapes.stroke(ring, startWidth: 0.004, middleWidth: 0.03, endWidth: 0.004), .solid(hairLight), opacity: 0.8)
    stroke(front.points + [front.points[0]], hairLine, 0.009)
    if v.ahoge {  // a single springy strand standing up from the crown
      let root = Point(partX, 0.14)
      let strand = cubic(root, Point(root.x + 0.02, 0.02), Point(root.x + 0.1 * v.side, 0.0), Point(root.x + 0.07 * v.side, 0.06))
      canvas.fill(Shapes.stroke(strand, startWidth: 0.03, middleWidth: 0.018, endWidth: 0.002), .solid(hair.mixed(with: hairShadow, 0.3)))
      stroke(strand, hairLine, 0.004)
    }
  }
}
