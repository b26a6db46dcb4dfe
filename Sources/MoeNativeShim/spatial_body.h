// spatial_body.h: the common 2× spatial kernels (2×2 max pooling with stride 2, a row upsampled 2× by bilinear
// half-pixel or nearest interpolation), included once per vector width by spatial.c with SUFFIX and TARGET defined.
// Plain loops over output columns (stride-2 loads and stores), which the compiler vectorises for the target.
// No fused multiply-add: the same roundings as the general Swift loop (and the wasm kernel), bit for bit.
#pragma clang fp contract(off)
#define SCAT2(a, b) a##b
#define SCAT(a, b) SCAT2(a, b)

// The larger of a and b, NaN if either is (a NaN a is kept by the first test, a NaN b by the fall-through).
#define MAXNAN(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

TARGET static void SCAT(maxpool2x2_, SUFFIX)(const float *x, long W, float *y, long OH, long OW) {
  for (long oh = 0; oh < OH; oh++) {
    const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
    float *out = y + oh * OW;
    for (long j = 0; j < OW; j++) {
      float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
      float m0 = MAXNAN(a, b), m1 = MAXNAN(c, d);
      out[j] = MAXNAN(m0, m1);
    }
  }
}

// dst[0 … 2W) from src[0 … W): linear half-pixel (x[i−1] + (x[i] − x[i−1])·¾ and x[i] + (x[i+1] − x[i])·¼, the
// edges clamped), or nearest (each source twice).
TARGET static void SCAT(upsample2x_row_, SUFFIX)(const float *src, long W, float *dst, int linear) {
  if (!linear) {
    for (long i = 0; i < W; i++) { dst[2 * i] = src[i]; dst[2 * i + 1] = src[i]; }
    return;
  }
  dst[0] = src[0] + (src[W > 1 ? 1 : 0] - src[0]) * 0.0f;
  for (long i = 1; i < W; i++) {
    float p = src[i - 1], q = src[i];
    dst[2 * i] = p + (q - p) * 0.75f;
    dst[2 * i - 1] = p + (q - p) * 0.25f;
  }
  dst[2 * W - 1] = src[W - 1] + (src[W - 1] - src[W - 1]) * 0.0f;
}
