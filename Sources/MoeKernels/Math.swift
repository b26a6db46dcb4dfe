// Math: float32 exp, expm1, log1p, erf and the activations built on them, in portable Swift (no libm in the wasm build).

/// 2^n as a float for -126 ≤ n ≤ 127.
@inline(__always) func pow2(_ n: Int32) -> Float { Float(bitPattern: UInt32(bitPattern: (n &+ 127) << 23)) }

/// e^x, relative error ≲ 2 ulp; overflows to +inf above 88.72 and underflows to 0 below -103.97.
func moeExp(_ x: Float) -> Float {
  if x > 88.72284 { return .infinity }
  if x < -103.97208 { return 0 }
  if x != x { return x }
  let n = (x * 1.44269504).rounded(.toNearestOrEven)
  let r = (x - n * 0.693145751953125) - n * 1.428606765330187e-06
  let p: Float = 1 + r * (1 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040)))))))
  let k = Int32(n)
  if k > 127 { return p * pow2(127) * pow2(k &- 127) }
  if k < -126 { return p * pow2(k &+ 100) * pow2(-100) }
  return p * pow2(k)
}

/// e^x − 1 without cancellation near 0.
func moeExpm1(_ x: Float) -> Float {
  if x > -0.35 && x < 0.35 {
    return x * (1 + x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24 + x * (1.0 / 120 + x * (1.0 / 720 + x * (1.0 / 5040 + x * (1.0 / 40320))))))))
  }
  return moeExp(x) - 1
}

/// log(1 + u) for u ≥ 0 (the softplus range), via 2·atanh(u / (2 + u)).
func moeLog1p(_ u: Float) -> Float {
  if u == 0 { return 0 }
  if u > 1 {  // log(1+u) = log(m · 2^e) with m in [1, 2)
    let v = 1 + u
    let bits = v.bitPattern
    let e = Int32(bitPattern: (bits >> 23) & 0xFF) &- 127
    let m = Float(bitPattern: (bits & 0x7F_FFFF) | 0x3F80_0000)
    return Float(e) * 0.6931471805599453 + moeLog1p(m - 1)
  }
  let s = u / (2 + u), s2 = s * s
  return 2 * s * (1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 + s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 / 17))))))))
}

func moeTanh(_ x: Float) -> Float {
  let a = x < 0 ? -x : x
  if a > 9.1 { return x < 0 ? -1 : 1 }
  let e = moeExpm1(2 * a)
  let t = e / (e + 2)
  return x < 0 ? -t : t
}

func moeSigmoid(_ x: Float) -> Float {
  if x >= 0 { return 1 / (1 + moeExp(-x)) }
  let e = moeExp(x)
  return e / (1 + e)
}

/// log(1 + e^x) = max(x, 0) + log1p(e^−|x|).
func moeSoftplus(_ x: Float) -> Float {
  let a = x < 0 ? -x : x
  return (x > 0 ? x : 0) + moeLog1p(moeExp(-a))
}

/// Natural log, relative error ≲ 1 ulp: x = m · 2^e with m in [√½, √2), log m = 2·atanh((m − 1)/(m + 1)).
/// log 0 = −inf, log of a negative number or NaN is NaN, log inf = inf.
func moeLog(_ x: Float) -> Float {
  if !(x > 0) { return x == 0 ? -.infinity : .nan }
  if x == .infinity { return x }
  var bits = x.bitPattern, e: Int32 = -127
  if bits < 0x0080_0000 {  // subnormal: scale by 2^23 first
    bits = (x * pow2(23)).bitPattern
    e = -150
  }
  e &+= Int32(bitPattern: (bits >> 23) & 0xFF)
  var m = Double(Float(bitPattern: (bits & 0x7F_FFFF) | 0x3F80_0000))
  if m > 1.4142135623730951 {
    m *= 0.5
    e &+= 1
  }
  let s = (m - 1) / (m + 1), s2 = s * s
  let p = 2 * s * (1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11))))))
  return Float(Double(e) * 0.6931471805599453 + p)
}

/// a^b (NumPy float32 power): integer exponents up to 64 by repeated squaring in double, otherwise e^(b·log|a|)
/// with the sign of a for odd integer b; a negative base with a fractional exponent is NaN.
func moePow(_ a: Float, _ b: Float) -> Float {
  if b == 0 { return 1 }
  if a != a || b != b { return .nan }
  let isInteger = b.rounded(.towardZero) == b
  if isInteger && b >= -64 && b <= 64 {
    var base = Double(a), n = Int32(b < 0 ? -b : b), r = 1.0
    while n > 0 {
      if n & 1 == 1 { r *= base }
      base *= base
      n >>= 1
    }
    return Float(b < 0 ? 1 / r : r)
  }
  if a < 0 && !isInteger { return .nan }
  let magnitude = a < 0 ? -a : a
  if magnitude == 0 { return b > 0 ? 0 : .infinity }
  let y = moeExp(b * moeLog(magnitude))
  let odd = isInteger && (b / 2).rounded(.towardZero) != b / 2
  return a < 0 && odd ? -y : y
}

/// erf(x) rounded to float: the Maclaurin series 2/√π · Σ (−1)ⁿ x²ⁿ⁺¹ / (n!·(2n+1)) summed in double. Below |x| = 4
/// its largest term is < 10⁵ times the result, so cancellation costs at most 5 of double's 16 digits; from 4 on,
/// 1 − erf(x) < 2⁻²⁶ and the float result is ±1.
func moeErf(_ x: Float) -> Float {
  if x != x || x == 0 { return x }
  if x >= 4 { return 1 }
  if x <= -4 { return -1 }
  let d = Double(x), x2 = d * d
  var power = d, sum = d, n = 0.0  // power = (−1)ⁿ x²ⁿ⁺¹ / n!
  while n < 120 {
    n += 1
    power *= -x2 / n
    let term = power / (2 * n + 1)
    sum += term
    if (term < 0 ? -term : term) <= 1e-17 * (sum < 0 ? -sum : sum) { break }
  }
  return Float(sum * 1.1283791670955126)  // 2/√π
}
