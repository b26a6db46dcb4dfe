// direct_filter_grad_body.h: the body of the direct stride-1 weight gradient, included once per vector width by
// direct_filter_grad.c with LANES, SUFFIX and TARGET defined (as direct_conv_body.h).
#define FG_CAT2(a, b) a##b
#define FG_CAT(a, b) FG_CAT2(a, b)
#define FG_VEC FG_CAT(fgvec_, SUFFIX)
typedef float FG_VEC __attribute__((vector_size(LANES * 4), aligned(4)));

// acc[o][j] += gy[o0 + o, oh, seg…] · x[c, ih, seg + (kj0 + j)·dw …] over every output row and segment, then added
// (horizontally summed) into gw[o0 + o, c, ki, kj0 + j].
#define FG_BLOCK(OB, JB)                                                                                       \
  do {                                                                                                         \
    FG_VEC acc[OB][JB];                                                                                        \
    for (int o = 0; o < OB; o++)                                                                               \
      for (int j = 0; j < JB; j++) acc[o][j] = (FG_VEC){0};                                                    \
    for (int oh = 0; oh < OH; oh++) {                                                                          \
      const float *xr = plane + (size_t)(oh + ki * dilH) * L + (size_t)kj0 * dilW;                             \
      const float *gr = gyp + (size_t)o0 * OH * OWr + (size_t)oh * OWr;                                        \
      for (int seg = 0; seg < OWr; seg += LANES) {                                                             \
        FG_VEC g[OB];                                                                                          \
        for (int o = 0; o < OB; o++) g[o] = *(const FG_VEC *)(gr + (size_t)o * OH * OWr + seg);                \
        for (int j = 0; j < JB; j++) {                                                                         \
          FG_VEC xv = *(const FG_VEC *)(xr + seg + j * dilW);                                                  \
          for (int o = 0; o < OB; o++) acc[o][j] += g[o] * xv;                                                 \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
    for (int o = 0; o < OB; o++)                                                                               \
      for (int j = 0; j < JB; j++) {                                                                           \
        float s = 0;                                                                                           \
        for (int l = 0; l < LANES; l++) s += acc[o][j][l];                                                     \
        gw[(((size_t)(o0 + o) * Ctot + c) * KH + ki) * KW + kj0 + j] += s;                                     \
      }                                                                                                        \
  } while (0)

TARGET static void FG_CAT(direct_filter_grad_, SUFFIX)(const float *x, const float *gy, float *gw, int C, int c0,
                                                      int cn, int Ctot, int H, int W, int O, int KH, int KW,
                                                      int padT, int padL, int dilH, int dilW, int OH, int OW,
                                                      float *work) {
  const size_t L = moe_direct_conv_row_floats(KW, dilW, OW);
  const int OWr = (OW + LANES - 1) / LANES * LANES;
  const int Hp = OH + (KH - 1) * dilH;  // padded rows that output rows reach
  float *plane = work, *gyp = work + (size_t)Hp * L;
  // gy with each row zero-padded to a whole number of vectors (the padding adds nothing to the sums).
  for (int o = 0; o < O; o++)
    for (int oh = 0; oh < OH; oh++) {
      const float *src = gy + ((size_t)o * OH + oh) * OW;
      float *dst = gyp + ((size_t)o * OH + oh) * OWr;
      for (int j = 0; j < OW; j++) dst[j] = src[j];
      for (int j = OW; j < OWr; j++) dst[j] = 0.0f;
    }
  for (int c = c0; c < c0 + cn; c++) {
    // The channel's input plane, zero-padded: padded row p holds input row p − padT, index b input column b − padL.
    for (int p = 0; p < Hp; p++) {
      float *r = plane + (size_t)p * L;
      int ih = p - padT;
      if (ih < 0 || ih >= H) {
        for (size_t b = 0; b < L; b++) r[b] = 0.0f;
        continue;
      }
      const float *src = x + ((size_t)c * H + ih) * W;
      int n = W < (int)L - padL ? W : (int)L - padL;
      for (int b = 0; b < padL; b++) r[b] = 0.0f;
      __builtin_memcpy(r + padL, src, (size_t)n * sizeof(float));
      for (size_t b = (size_t)padL + n; b < L; b++) r[b] = 0.0f;
    }
    for (int ki = 0; ki < KH; ki++) {
      for (int o0 = 0; o0 < O; o0 += 4) {
        int ob = O - o0 < 4 ? O - o0 : 4;
        for (int kj0 = 0; kj0 < KW; kj0 += 6) {
          int jb = KW - kj0 < 6 ? KW - kj0 : 6;
          // Register blocks of at most 4 × 6 accumulators (and the loads beside them).
          switch (ob * 8 + jb) {
#define FG_CASE(OB, JB) case OB * 8 + JB: FG_BLOCK(OB, JB); break;
            FG_CASE(1, 1) FG_CASE(1, 2) FG_CASE(1, 3) FG_CASE(1, 4) FG_CASE(1, 5) FG_CASE(1, 6)
            FG_CASE(2, 1) FG_CASE(2, 2) FG_CASE(2, 3) FG_CASE(2, 4) FG_CASE(2, 5) FG_CASE(2, 6)
            FG_CASE(3, 1) FG_CASE(3, 2) FG_CASE(3, 3) FG_CASE(3, 4) FG_CASE(3, 5) FG_CASE(3, 6)
            FG_CASE(4, 1) FG_CASE(4, 2) FG_CASE(4, 3) FG_CASE(4, 4) FG_CASE(4, 5) FG_CASE(4, 6)
#undef FG_CASE
          }
        }
      }
    }
  }
}

#undef FG_BLOCK
#undef FG_VEC
#undef FG_CAT
#undef FG_CAT2
