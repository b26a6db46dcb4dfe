// ONNXImporter+Spatial: ONNX Pad, MaxPool/AveragePool, Resize and Upsample → IR nodes, with their opset forms.
import CONNX
import MoeIR

extension ONNXImporter.Reader {
  /// Pad: `pads`/`value` attributes before opset 11, then inputs (pads int64, constant_value, opset 18 axes);
  /// modes constant, reflect, edge (`wrap` refused).
  mutating func pad(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0]
    guard let s = shapes[x] else { throw err(n, "input has no known shape") }
    let modeName = string(n, "mode") ?? "constant"
    guard let mode = PadMode(rawValue: modeName) else {
      throw refuse(n, "mode '\(modeName)' is not supported (constant, reflect, edge)")
    }
    var pads: [Int]
    var value: Float = 0
    if opset < 11 {
      guard let p = intList(n, "pads") else { throw err(n, "missing pads attribute") }
      pads = p
      value = float(n, "value", 0)
    } else {
      guard let p = try staticInts(n, 1, "pads") else { throw err(n, "missing pads input") }
      pads = p
      value = try staticFloat(n, 2, "constant_value") ?? 0
      if let axes = try staticInts(n, 3, "axes") {
        guard pads.count == 2 * axes.count else { throw err(n, "pads has \(pads.count) entries for \(axes.count) axes") }
        var full = [Int](repeating: 0, count: 2 * s.rank)
        for (k, a) in axes.enumerated() {
          let axis = a < 0 ? a + s.rank : a
          guard axis >= 0 && axis < s.rank else { throw err(n, "axis \(a) out of range for rank \(s.rank)") }
          full[axis] = pads[k]
          full[axis + s.rank] = pads[k + axes.count]
        }
        pads = full
      }
    }
    guard pads.count == 2 * s.rank else { throw err(n, "pads has \(pads.count) entries, expected \(2 * s.rank) for \(s)") }
    if mode != .constant && pads.contains(where: { $0 < 0 }) {
      throw refuse(n, "negative pads (cropping) in \(modeName) mode are not supported")
    }
    try emit(n, .pad(PadAttrs(mode: mode, pads: pads, value: value)), [x])
  }

  /// MaxPool/AveragePool over 2-D (4-D input): kernel_shape, strides, pads, dilations, ceil_mode, count_include_pad;
  /// auto_pad resolved from the static input shape as for Conv. The MaxPool Indices output is refused.
  mutating func pool(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0]
    if n.outputs.count > 1 && !n.outputs[1].isEmpty { throw refuse(n, "the Indices output is not supported") }
    if shapes[x]?.rank == 5, try pool3dOverDepth(n) { return }
    guard let s = shapes[x], s.rank == 4 else {
      throw refuse(n, "only 2-D pooling (4-D input) is supported, input is \(shapes[x].map { "\($0)" } ?? "unknown")")
    }
    guard let kernel = intList(n, "kernel_shape"), kernel.count == 2 else {
      throw err(n, "kernel_shape must have 2 entries for a 4-D input")
    }
    let strides = intList(n, "strides") ?? [1, 1], dilations = intList(n, "dilations") ?? [1, 1]
    guard strides.count == 2, dilations.count == 2 else { throw err(n, "strides/dilations must have 2 entries") }
    guard (strides + dilations + kernel).allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }) else {
      throw err(n, "strides \(strides), dilations \(dilations) and kernel_shape \(kernel) must be between 1 and 2^24")
    }
    var pads = intList(n, "pads") ?? [0, 0, 0, 0]
    guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 24 }) else { throw err(n, "pads \(pads) must be 4 values in 0…2^24") }
    switch string(n, "auto_pad") ?? "NOTSET" {
    case "NOTSET": break
    case "VALID": pads = [0, 0, 0, 0]
    case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
      let size = try spatial(n, x)
      for i in 0..<2 {
        let out = (size[i] + strides[i] - 1) / strides[i]
        let total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size[i])
        pads[i] = mode == "SAME_UPPER" ? total / 2 : total - total / 2
        pads[i + 2] = total - pads[i]
      }
    case let mode: throw err(n, "unknown auto_pad '\(mode)'")
    }
    let a = PoolAttrs(kernel: kernel, strides: strides, pads: pads, dilations: dilations,
                      ceilMode: int(n, "ceil_mode", 0) != 0, countIncludePad: int(n, "count_include_pad", 0) != 0)
    try emit(n, n.opType == "MaxPool" ? .maxPool(a) : .averagePool(a), [x])
  }

  /// A 3-D pool whose window covers one element of H and W (PyTorch's LocalResponseNorm: AvgPool3d (size, 1, 1)
  /// over (N, 1, C, H, W)): H and W merged, pooled in 2-D over (D, H·W), reshaped back. False for other 3-D pools.
  mutating func pool3dOverDepth(_ n: ONNXImporter.ONode) throws -> Bool {
    let x = n.inputs[0], o = n.outputs[0]
    guard let s = shapes[x], let d = s[2].value, let h = s[3].value, let w = s[4].value,
      let kernel = intList(n, "kernel_shape"), kernel.count == 3, kernel[1] == 1, kernel[2] == 1,
      (string(n, "auto_pad") ?? "NOTSET") == "NOTSET"
    else { return false }
    let strides = intList(n, "strides") ?? [1, 1, 1], pads = intList(n, "pads") ?? [0, 0, 0, 0, 0, 0]
    let dilations = intList(n, "dilations") ?? [1, 1, 1]
    guard strides.count == 3, strides[1] == 1, strides[2] == 1, pads.count == 6, pads[1] == 0, pads[2] == 0,
      pads[4] == 0, pads[5] == 0, dilations.count == 3, dilations[1] == 1, dilations[2] == 1,
      kernel[0] >= 1, strides[0] >= 1, dilations[0] >= 1, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 24 }), d >= 1
    else { return false }
    let a = PoolAttrs(kernel: [kernel[0], 1], strides: [strides[0], 1], pads: [pads[0], 0, pads[3], 0],
                      dilations: [dilations[0], 1], ceilMode: int(n, "ceil_mode", 0) != 0,
                      countIncludePad: int(n, "count_include_pad", 0) != 0)
    let flat = try emit(n, .reshape(shape: [0, 0, d, h * w]), [x], output: o + "/depth_by_plane")
    let pooled = try emit(n, n.opType == "MaxPool" ? .maxPool(a) : .averagePool(a), [flat], output: o + "/pooled")
    guard let dOut = shapes[pooled]?[2].value else { throw err(n, "pooled depth is not fixed") }
    try emit(n, .reshape(shape: [0, 0, dOut, h, w]), [pooled])
    return true
  }

  /// Resize (opset ≥ 11: scales or sizes from initializers, roi ignored; opset 10: scales, asymmetric) and Upsample
  /// (opsets 7–9: scales attribute, then input; asymmetric, nearest rounds down). Height and width only.
  mutating func resize(_ n: ONNXImporter.ONode) throws {
    let x = n.inputs[0]
    guard let s = shapes[x], s.rank == 4, let h = s[2].value, let w = s[3].value else {
      throw refuse(n, "only 4-D inputs with fixed height and width are resized, input is \(shapes[x].map { "\($0)" } ?? "unknown")")
    }
    var modeName = string(n, "mode") ?? "nearest"
    if modeName == "bilinear" && n.opType == "Upsample" { modeName = "linear" }
    guard let mode = ResizeMode(rawValue: modeName) else {
      throw refuse(n, "mode '\(modeName)' is not supported (nearest, linear)")
    }
    var coordinates = CoordinateMode.asymmetric, nearest = NearestMode.floor
    var scales4: [Float]?, sizes: [Int]?
    let legacy = n.opType == "Upsample" || opset < 11
    if legacy {
      if n.opType == "Upsample" && opset < 9 {
        guard let a = n.attrs["scales"] else { throw err(n, "missing scales attribute") }
        scales4 = ONNXC.floats(a.pointee.floats, a.pointee.n_floats)
      } else {
        scales4 = try staticFloats(n, 1, "scales")
      }
    } else {
      let cm = string(n, "coordinate_transformation_mode") ?? "half_pixel"
      guard let c = CoordinateMode(rawValue: cm) else {
        throw refuse(n, "coordinate_transformation_mode '\(cm)' is not supported (half_pixel, pytorch_half_pixel, align_corners, asymmetric)")
      }
      let nm = string(n, "nearest_mode") ?? "round_prefer_floor"
      guard let m = NearestMode(rawValue: nm) else { throw err(n, "unknown nearest_mode '\(nm)'") }
      coordinates = c
      nearest = m
      if int(n, "exclude_outside", 0) != 0 { throw refuse(n, "exclude_outside=1 is not supported") }
      if int(n, "antialias", 0) != 0 { throw refuse(n, "antialias=1 is not supported") }
      scales4 = try staticFloats(n, 2, "scales").flatMap { $0.isEmpty ? nil : $0 }
      sizes = try staticInts(n, 3, "sizes").flatMap { $0.isEmpty ? nil : $0 }
      if let axes = intList(n, "axes") {
        let normalized = axes.map { $0 < 0 ? $0 + 4 : $0 }
        guard normalized.sorted() == [2, 3] else { throw refuse(n, "axes \(axes): only the two spatial axes [2, 3] are resized") }
        if normalized == [3, 2] {
          scales4 = scales4.map { $0.count == 2 ? [$0[1], $0[0]] : $0 }
          sizes = sizes.map { $0.count == 2 ? [$0[1], $0[0]] : $0 }
        }
      }
      if sizes != nil, let p = string(n, "keep_aspect_ratio_policy"), p != "stretch" {
        throw refuse(n, "keep_aspect_ratio_policy '\(p)' is not supported (stretch)")
      }
    }
    if let axes = intList(n, "axes"), axes.count == 2 {
      scales4 = scales4.map { [1, 1] + $0 }
      sizes = sizes.map { [s[0].value ?? -1, s[1].value ?? -1] + $0 }
    }
    var scales: [Float]
    if let sc = scales4 {
      guard sc.count == 4 else { throw err(n, "scales has \(sc.count) entries, expected 4") }
      guard sc[0] == 1, sc[1] == 1 else { throw refuse(n, "scales \(sc): batch and channel axes cannot be resized") }
      scales = Array(sc[2...])
      // align_corners maps through the output length: ONNX's reference takes in · scale unrounded, ONNX Runtime and
      // MoeKit the integer extent. They agree only when in · scale is a whole number.
      for (extent, scale) in zip([h, w], scales) where coordinates == .alignCorners {
        let length: Double = Double(extent) * Double(scale)
        if length != length.rounded() {
          throw refuse(n, "align_corners with scale \(scale) of extent \(extent) (not a whole output length; ONNX's reference and ONNX Runtime disagree there): write sizes instead")
        }
      }
    } else if let sz = sizes {
      guard sz.count == 4 else { throw err(n, "sizes has \(sz.count) entries, expected 4") }
      for i in 0..<2 where sz[i] != (s[i].value ?? sz[i]) && sz[i] != -1 {
        throw refuse(n, "sizes \(sz): batch and channel axes cannot be resized (input \(s))")
      }
      guard sz[2] >= 1, sz[3] >= 1 else { throw err(n, "sizes \(sz) must be ≥ 1") }
      // The scale out/in, nudged up so that floor(in · scale) gives back the requested size. Nudged, it moves
      // nearest sampling off exact ties (the IR's extent is floor(in · scale)): refused there, except align_corners.
      scales = []
      for (input, out) in zip([h, w], sz.suffix(2)) {
        var sc = Float(out) / Float(input)
        let exact = sc
        while (Double(input) * Double(sc)).rounded(.down) < Double(out) { sc = sc.nextUp }
        if sc != exact && mode == .nearest && coordinates != .alignCorners {
          throw refuse(n, "sizes \(sz): \(input) → \(out) is not floor(\(input) · \(exact)) in float32; nearest resize with "
                         + "\(coordinates.rawValue) coordinates needs an output size that the float scale reproduces (IR limitation)")
        }
        scales.append(sc)
      }
    } else {
      throw err(n, "needs scales or sizes")
    }
    if legacy && mode == .nearest && scales.contains(where: { $0 < 1 }) {
      throw refuse(n, "opset \(opset) \(n.opType) nearest downsampling (scales \(scales)) is not supported")
    }
    try emit(n, .resize(ResizeAttrs(mode: mode, coordinates: coordinates, nearest: nearest, scales: scales)), [x])
  }
}
