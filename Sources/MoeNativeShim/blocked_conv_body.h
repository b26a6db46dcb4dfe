// blocked_conv_body.h: the inner kernel of the output-channel-blocked direct convolution, included once per vector
// width by blocked_conv.c with SUFFIX, TARGET, VL (floats per vector) and PX (output pixels per tile) defined.
// Each tile is BLOCK = 2·VL output channels × PX output pixels of one row, held in 2·PX vector accumulators; for
// every (c, ki, kj) two weight vectors are loaded and each pixel's input is broadcast into two fused multiply-adds.
#define BCAT2(a, b) a##b
#define BCAT(a, b) BCAT2(a, b)
#define VEC BCAT(bvec_, SUFFIX)
typedef float VEC __attribute__((vector_size(VL * 4), aligned(4)));

// One row segment: output pixels ow0 … ow0 + PX − 1 of row oh for the block's 2·VL channels, stored (those inside
// OW and O) with the bias. Always inlined, so that a constant kw unrolls the innermost tap loop.
TARGET static inline __attribute__((always_inline)) void BCAT(bconv_tile_, SUFFIX)(
    const float *xp, int C, long plane, int WP, const float *wb, const float *bias, float *y, int O, int KH, int kw,
    int sh, int sw, int dh, int dw, int OW, int ob, int oh, int ow0, long oplane, long orow, int ocol) {
  float tmp[PX][2 * VL];
  VEC a0[PX], a1[PX];
#pragma clang loop unroll(full)
  for (int p = 0; p < PX; p++) { a0[p] = (VEC){0}; a1[p] = (VEC){0}; }
  const float *w = wb;
  for (int c = 0; c < C; c++) {
    const float *xc = xp + c * plane + (long)oh * sh * WP + (long)ow0 * sw;
    for (int ki = 0; ki < KH; ki++) {
      const float *xr = xc + (long)ki * dh * WP;
      for (int kj = 0; kj < kw; kj++) {
        VEC w0 = *(const VEC *)w, w1 = *(const VEC *)(w + VL);
        w += 2 * VL;
        const float *xs = xr + kj * dw;
#pragma clang loop unroll(full)
        for (int p = 0; p < PX; p++) {
          float v = xs[p * sw];
          a0[p] += w0 * v;
          a1[p] += w1 * v;
        }
      }
    }
  }
#pragma clang loop unroll(full)
  for (int p = 0; p < PX; p++) {
    *(VEC *)&tmp[p][0] = a0[p];
    *(VEC *)&tmp[p][VL] = a1[p];
  }
  int np = OW - ow0 < PX ? OW - ow0 : PX;
  for (int v = 0; v < 2 * VL && ob * 2 * VL + v < O; v++) {
    int o = ob * 2 * VL + v;
    float b = bias ? bias[o] : 0.0f;
    float *yo = y + (long)o * oplane + (long)oh * orow + (long)ow0 * ocol;
    if (ocol == 1) {
      for (int p = 0; p < np; p++) yo[p] = tmp[p][v] + b;
    } else {
      for (int p = 0; p < np; p++) yo[(long)p * ocol] = tmp[p][v] + b;
    }
  }
}

TARGET static void BCAT(bconv_rows_, SUFFIX)(const float *xp, int C, int HP, int WP, const float *wp,
                                             const float *bias, float *y, int O, int KH, int KW, int sh, int sw,
                                             int dh, int dw, int OH, int OW, int ob, int row0, int rows,
                                             long oplane, long orow, int ocol) {
  (void)OH;
  const long plane = (long)HP * WP;
  const float *wb = wp + (long)ob * C * KH * KW * 2 * VL;
  for (int oh = row0; oh < row0 + rows; oh++) {
    for (int ow0 = 0; ow0 < OW; ow0 += PX) {
      // The common kernel widths with their tap loop unrolled.
      switch (KW) {
      case 2: BCAT(bconv_tile_, SUFFIX)(xp, C, plane, WP, wb, bias, y, O, KH, 2, sh, sw, dh, dw, OW, ob, oh, ow0, oplane, orow, ocol); break;
      case 3: BCAT(bconv_tile_, SUFFIX)(xp, C, plane, WP, wb, bias, y, O, KH, 3, sh, sw, dh, dw, OW, ob, oh, ow0, oplane, orow, ocol); break;
      case 4: BCAT(bconv_tile_, SUFFIX)(xp, C, plane, WP, wb, bias, y, O, KH, 4, sh, sw, dh, dw, OW, ob, oh, ow0, oplane, orow, ocol); break;
      default: BCAT(bconv_tile_, SUFFIX)(xp, C, plane, WP, wb, bias, y, O, KH, KW, sh, sw, dh, dw, OW, ob, oh, ow0, oplane, orow, ocol);
      }
    }
  }
}
#undef VEC
