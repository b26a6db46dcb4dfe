// transcendental_body.h: exp, tanh and the logistic sigmoid over float arrays, included once per vector width by
// transcendental.c with SUFFIX (function name suffix) and TARGET (a target attribute, or nothing) defined. The loops
// are branch-free (both sides of every case computed, then selected), so the compiler vectorises them for the target.
#define TCAT2(a, b) a##b
// y may be x: each iteration reads x[i] before writing y[i], so the loops vectorise without the overlap check that
// would send an in-place call (the usual case, an activation after a conv) down the scalar path.
#ifndef VECTORIZE
#define VECTORIZE _Pragma("clang loop vectorize(assume_safety)")
#endif
#define TCAT(a, b) TCAT2(a, b)

// e^x: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial of degree 7 (truncation < 2e-9 relative), then
// 2^n applied in two halves so that n from −150 to 128 gives denormals and infinity as the multiplication rounds
// them. x is clamped to [−104, 89] first (e^x is 0 and ∞ in float beyond), NaN passes through.
TARGET static inline float TCAT(exp1_, SUFFIX)(float x) {
  float c = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  float n = __builtin_rintf(c * 1.44269504088896341f);
  float r = c - n * 0.693145751953125f;          // ln2 split: hi has 16 significant bits, n·hi is exact
  r = r - n * 1.42860682030941723e-06f;          // lo
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int k = (int)n, k1 = k >> 1, k2 = k - k1;
  union { int i; float f; } s1 = {.i = (k1 + 127) << 23}, s2 = {.i = (k2 + 127) << 23};
  float y = p * s1.f * s2.f;
  return x != x ? x : y;
}

TARGET static void TCAT(exp_, SUFFIX)(const float *x, float *y, long n) {
  VECTORIZE for (long i = 0; i < n; i++) y[i] = TCAT(exp1_, SUFFIX)(x[i]);
}

// tanh: for |x| < 0.55 its odd Taylor series to x¹⁵ (truncation < 3e-8), beyond (1 − t)/(1 + t) with t = e^(−2|x|)
// (t ≤ 0.34, no cancellation), with the sign of x. |x| is capped at 9 inside e^(−2|x|): the quotient rounds to 1
// from about 8.7 on, and a denormal t (|x| > 44) would cost a microcode assist per element. NaN passes through.
TARGET static void TCAT(tanh_, SUFFIX)(const float *x, float *y, long n) {
  VECTORIZE for (long i = 0; i < n; i++) {
    float v = x[i], a = __builtin_fabsf(v), s = v * v;
    float p = -929569.0f / 638512875.0f;
    p = p * s + 21844.0f / 6081075.0f;
    p = p * s - 1382.0f / 155925.0f;
    p = p * s + 62.0f / 2835.0f;
    p = p * s - 17.0f / 315.0f;
    p = p * s + 2.0f / 15.0f;
    p = p * s - 1.0f / 3.0f;
    float small = __builtin_copysignf(a + a * s * p, v);
    float t = TCAT(exp1_, SUFFIX)(-2.0f * (a < 9.0f ? a : (a != a ? a : 9.0f)));
    float large = __builtin_copysignf((1.0f - t) / (1.0f + t), v);
    y[i] = a < 0.55f ? small : large;
  }
}

// σ(x) with e = e^(−|x|) ≤ 1: 1 / (1 + e) for x ≥ 0, e / (1 + e) below (no overflow, denormal results kept).
TARGET static void TCAT(sigmoid_, SUFFIX)(const float *x, float *y, long n) {
  VECTORIZE for (long i = 0; i < n; i++) {
    float v = x[i], e = TCAT(exp1_, SUFFIX)(-__builtin_fabsf(v)), r = 1.0f / (1.0f + e);
    y[i] = v >= 0 ? r : (v != v ? v : e * r);
  }
}
