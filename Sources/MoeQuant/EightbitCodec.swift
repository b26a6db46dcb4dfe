// EightbitCodec: WebDNN 1.2's "eightbit" constant encoding (the one MakeGirls.moe shipped), reimplemented.

/// `eightbit`: WebDNN's `ConstantEncoderEightbit` (mil-tokyo/webdnn,
/// `src/graph_transpiler/webdnn/encoder/constant_encoder_eightbit.py`, decoded by
/// `src/descriptor_runner/decoder/weight_decoder_eightbit.ts`), itself after Tim Dettmers' "8-Bit Approximations for
/// Parallelism in Deep Learning" (clusterNet `clusterKernels.cu`). Written from that description, not copied.
///
/// WebDNN does **not** quantize the model as one range: its weight file is the concatenation of one *record* per
/// constant allocation (≈ one per weight tensor), each with its own max |x| and its own zlib stream.
///
/// Record (all fields little-endian):
/// | bytes | field |
/// |---|---|
/// | 4 | int32 `offset`: element offset of this tensor in the model's constant buffer (0 for a lone tensor) |
/// | 4 | int32 `bodySize`: length of `body` in bytes |
/// | 4 | float32 `scale` = max(max |x|, 1e-20) |
/// | 4 | int32 reserved, 0 |
/// | bodySize | `body` = zlib stream (RFC 1950, level 9, as Python's `zlib.compress(codes, 9)`) of one code byte per element |
///
/// Code of x: bit 7 = sign (x < 0; −0 counts as positive), bits 0–6 = the number of thresholds t[0…126] that are
/// < |x| / scale (float32 division; `numpy.searchsorted(t, v, side='left')`). Thresholds (float32):
/// t[0] = 1.5e-6, t[i] = (T[i−1] + T[i]) / 2 for 1 ≤ i ≤ 125 (computed in double, then rounded), t[126] = 0.995703,
/// with T the 126-entry table `eightbitTable`. Decode: magnitude code 0 → 0, 1…126 → T[code−1], 127 → 1.0;
/// x̂ = ±Float(magnitude · scale) with the product in double (as the JavaScript decoder's Float32Array does).
/// Record size 16 + bodySize; a model's size is the sum over its records.
/// Worst-case error: scale · (the largest distance from a code's interval end to its value, ≈ 0.0086)
/// (+ `roundingSlack` · scale).
enum EightbitCodec {
  /// Float32 thresholds, as WebDNN's `threshold_array`.
  static let thresholds: [Float] = (0..<127).map { i in
    if i == 0 { return Float(1.5e-6) }
    if i == 126 { return Float(0.995703) }
    return Float((eightbitTable[i] + eightbitTable[i - 1]) / 2.0)
  }

  /// Magnitude code → value in units of scale (128 entries, in double as in the JavaScript decoder).
  static let magnitudes: [Double] = [0.0] + eightbitTable + [1.0]

  /// The largest |v − value(code(v))| for v in [0, 1].
  static let maxStep: Float = {
    var step = thresholds[0]  // code 0 covers [0, t0]
    for code in 1..<128 {
      let lower = thresholds[code - 1], upper = code < 127 ? thresholds[code] : 1
      let value = Float(magnitudes[code])
      step = max(step, value - lower, upper - value)
    }
    return step
  }()

  static func scale(of data: ArraySlice<Float>) -> Float { max(maxAbs(data), Float(1e-20)) }

  /// One code byte per element.
  static func codes(_ data: ArraySlice<Float>, scale: Float) -> [UInt8] {
    let t = thresholds
    return data.map { x in
      let v = abs(x) / scale
      var lo = 0, hi = t.count  // count of thresholds < v
      while lo < hi {
        let mid = (lo + hi) / 2
        if t[mid] < v { lo = mid + 1 } else { hi = mid }
      }
      return UInt8(lo) | (x < 0 ? 0x80 : 0)
    }
  }

  static func record(_ data: ArraySlice<Float>, offset: Int) throws -> [UInt8] {
    let s = scale(of: data)
    let body = try deflateBytes(codes(data, scale: s), level: 9)
    var w = ByteWriter(capacity: 16 + body.count)
    w.i32(Int32(offset))
    w.i32(Int32(body.count))
    w.f32(s)
    w.i32(0)
    w.append(body)
    return w.bytes
  }

  /// Decodes a sequence of records whose element counts add up to `count`; each record's offset must equal
  /// the number of elements before it.
  static func decode(_ payload: [UInt8], count: Int) throws -> [Float] {
    var r = ByteReader(payload, context: "eightbit")
    var out: [Float] = []
    out.reserveCapacity(count)
    while r.remaining > 0 {
      let at = r.position
      let offset = Int(try r.i32()), bodySize = Int(try r.i32()), scale = try r.f32(), reserved = try r.i32()
      guard offset == out.count else {
        throw QuantError.corrupt(context: "eightbit record at byte \(at)", reason: "offset \(offset), expected \(out.count)")
      }
      guard scale.isFinite, scale >= 0, reserved == 0 else {
        throw QuantError.corrupt(context: "eightbit record at byte \(at)", reason: "scale \(scale), reserved \(reserved)")
      }
      let body = try r.take(bodySize)
      let codes = try inflateBytes(body, maxSize: count - out.count)
      var table = [Float](repeating: 0, count: 256)
      for i in 0..<128 {
        table[i] = Float(magnitudes[i] * Double(scale))
        table[i + 128] = -table[i]
      }
      for c in codes { out.append(table[Int(c)]) }
    }
    guard out.count == count else {
      throw QuantError.corrupt(context: "eightbit", reason: "records hold \(out.count) elements, shape needs \(count)")
    }
    return out
  }

  static func maxError(_ data: [Float]) -> Float {
    let s = scale(of: data[...])
    return s * maxStep + s * roundingSlack
  }
}
