// RGBImage: an 8-bit RGB raster (row-major, 3 bytes a pixel), centre-crop and area/bilinear resize.
import Foundation

/// An 8-bit RGB image, rows top to bottom, 3 bytes (R, G, B) per pixel.
public struct RGBImage: Equatable, Sendable {
  public var width: Int
  public var height: Int
  /// `width * height * 3` bytes.
  public var pixels: [UInt8]

  /// Wraps `pixels`.
  ///
  /// - Precondition: `pixels.count == width * height * 3` and both sides are positive.
  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                 "RGBImage: \(pixels.count) bytes for \(width)×\(height)")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// A `width`×`height` image filled with one colour.
  public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) { pixels[3 * i] = fill.0; pixels[3 * i + 1] = fill.1; pixels[3 * i + 2] = fill.2 }
    self.init(width: width, height: height, pixels: pixels)
  }

  /// The largest centred square.
  public func centreCropped() -> RGBImage {
    let side = min(width, height)
    if side == width && side == height { return self }
    let x0 = (width - side) / 2, y0 = (height - side) / 2
    var out = [UInt8](repeating: 0, count: side * side * 3)
    for y in 0..<side {
      let src = ((y0 + y) * width + x0) * 3
      out.withUnsafeMutableBufferPointer { dst in
        pixels.withUnsafeBufferPointer { s in
          (dst.baseAddress! + y * side * 3).update(from: s.baseAddress! + src, count: side * 3)
        }
      }
    }
    return RGBImage(width: side, height: side, pixels: out)
  }

  /// This image scaled to `newWidth`×`newHeight`: area averaging along an axis that shrinks,
  /// bilinear interpolation (pixel centres aligned) along an axis that grows.
  public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
    precondition(newWidth > 0 && newHeight > 0, "RGBImage.resized: non-positive size")
    if newWidth == width && newHeight == height { return self }
    // Separable: resample rows first (width), then columns (height), in Float.
    let horizontal = RGBImage.weights(from: width, to: newWidth)
    let vertical = RGBImage.weights(from: height, to: newHeight)
    var rows = [Float](repeating: 0, count: newWidth * height * 3)
    for y in 0..<height {
      for (x, taps) in horizontal.enumerated() {
        var r: Float = 0, g: Float = 0, b: Float = 0
        for (index, weight) in taps {
          let s = (y * width + index) * 3
          r += weight * Float(pixels[s]); g += weight * Float(pixels[s + 1]); b += weight * Float(pixels[s + 2])
        }
        let d = (y * newWidth + x) * 3
        rows[d] = r; rows[d + 1] = g; rows[d + 2] = b
      }
    }
    var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
    for (y, taps) in vertical.enumerated() {
      for x in 0..<(newWidth * 3) {
        var v: Float = 0
        for (index, weight) in taps { v += weight * rows[index * newWidth * 3 + x] }
        out[y * newWidth * 3 + x] = UInt8(max(0, min(255, v.rounded())))
      }
    }
    return RGBImage(width: newWidth, height: newHeight, pixels: out)
  }

  /// Resampling taps (source index, weight) for each destination index along one axis.
  static func weights(from source: Int, to destination: Int) -> [[(Int, Float)]] {
    let scale = Double(source) / Double(destination)
    return (0..<destination).map { d in
      if scale > 1 {  // area: the source interval [d*scale, (d+1)*scale) averaged with partial end pixels
        let lo = Double(d) * scale, hi = lo + scale
        var taps: [(Int, Float)] = []
        var i = Int(lo.rounded(.down))
        while Double(i) < hi && i < source {
          let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
          if overlap > 0 { taps.append((i, Float(overlap / scale))) }
          i += 1
        }
        return taps
      }
      let centre = (Double(d) + 0.5) * scale - 0.5
      let left = Int(centre.rounded(.down)), t = Float(centre - Double(left))
      let a = min(max(left, 0), source - 1), b = min(max(left + 1, 0), source - 1)
      return a == b ? [(a, Float(1))] : [(a, 1 - t), (b, t)]
    }
  }

  /// The image as channel planes (C×H×W: all R, then all G, then all B).
  public var planes: [UInt8] {
    let n = width * height
    var out = [UInt8](repeating: 0, count: n * 3)
    for i in 0..<n { out[i] = pixels[3 * i]; out[n + i] = pixels[3 * i + 1]; out[2 * n + i] = pixels[3 * i + 2] }
    return out
  }

  /// An image from channel planes (C×H×W).
  public init(planes: ArraySlice<UInt8>, width: Int, height: Int) {
    let n = width * height, base = planes.startIndex
    var pixels = [UInt8](repeating: 0, count: n * 3)
    for i in 0..<n {
      pixels[3 * i] = planes[base + i]; pixels[3 * i + 1] = planes[base + n + i]; pixels[3 * i + 2] = planes[base + 2 * n + i]
    }
    self.init(width: width, height: height, pixels: pixels)
  }
}
