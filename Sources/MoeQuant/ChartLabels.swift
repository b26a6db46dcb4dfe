// ChartLabels: places text labels beside chart points so that no two labels, and no label and point, overlap.

/// An axis-aligned box in SVG user units (y grows downwards).
public struct ChartBox: Equatable, Sendable {
  public var x: Double, y: Double, width: Double, height: Double

  public init(x: Double, y: Double, width: Double, height: Double) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  /// Whether the two boxes share interior area (touching edges do not count).
  public func intersects(_ o: ChartBox) -> Bool {
    x < o.x + o.width && o.x < x + width && y < o.y + o.height && o.y < y + height
  }

  /// Whether `o` lies wholly inside this box.
  public func contains(_ o: ChartBox) -> Bool {
    o.x >= x && o.y >= y && o.x + o.width <= x + width && o.y + o.height <= y + height
  }
}

/// Label placement for a scatter chart: each label goes beside its point (right, left, above or below, then shifted
/// up or down row by row with a leader line) where its box is inside the plot and clear of every point and every label
/// placed before it; a label that fits nowhere goes into a legend below the plot. No two boxes ever intersect.
public enum ChartLabels {
  /// Where one label went: its box (the text starts at `box.x`, baseline `box.y + box.height - 3`), and whether it
  /// is away from its point (draw a leader line) or in the legend under the plot.
  public struct Placement: Sendable {
    public var box: ChartBox
    public var leader: Bool
    public var inLegend: Bool
  }

  /// Row height of an 11 px label.
  public static let rowHeight = 14.0

  /// A generous width of `text` at 11 px (wider than system-ui's glyphs, so estimated boxes cover the drawn text).
  public static func width(_ text: String, bold: Bool = false) -> Double { Double(text.count) * (bold ? 7.4 : 7.0) + 4 }

  /// Places `labels` (text, bold) for points `(x, y, radius)` inside `plot`; legend rows start at `legendTop`.
  public static func place(points: [(x: Double, y: Double, r: Double)], labels: [(text: String, bold: Bool)], plot: ChartBox,
                           legendTop: Double) -> [Placement] {
    let obstacles = points.map { ChartBox(x: $0.x - $0.r - 1, y: $0.y - $0.r - 1, width: 2 * $0.r + 2, height: 2 * $0.r + 2) }
    var placed: [ChartBox] = []
    var result: [Placement] = []
    var legendRow = 0
    for (i, p) in points.enumerated() {
      let w = width(labels[i].text, bold: labels[i].bold), h = rowHeight
      var candidates: [(ChartBox, Bool)] = []
      for shift in 0...12 {
        for sign in shift == 0 ? [0.0] : [-1.0, 1.0] {
          let dy = sign * Double(shift) * h
          let top = p.y - h / 2 + dy
          candidates.append((ChartBox(x: p.x + p.r + 3, y: top, width: w, height: h), shift > 1))
          candidates.append((ChartBox(x: p.x - p.r - 3 - w, y: top, width: w, height: h), shift > 1))
        }
        if shift == 1 {
          candidates.append((ChartBox(x: p.x - w / 2, y: p.y - p.r - 2 - h, width: w, height: h), false))
          candidates.append((ChartBox(x: p.x - w / 2, y: p.y + p.r + 2, width: w, height: h), false))
        }
      }
      let free = candidates.first { c in
        plot.contains(c.0) && !placed.contains { $0.intersects(c.0) } && !obstacles.contains { $0.intersects(c.0) }
      }
      if let (box, leader) = free {
        placed.append(box)
        result.append(Placement(box: box, leader: leader, inLegend: false))
      } else {
        let box = ChartBox(x: plot.x + 18, y: legendTop + Double(legendRow) * h, width: w, height: h)
        legendRow += 1
        placed.append(box)
        result.append(Placement(box: box, leader: false, inLegend: true))
      }
    }
    return result
  }
}
