// winograd_body.h: the transforms of Winograd F(2×2, 3×3), included once per vector width by winograd.c with SUFFIX
// (function name suffix) and TARGET (a target attribute, or nothing) defined. Plain loops over tile columns, which
// the compiler vectorises for the target.
#define WCAT2(a, b) a##b
#define WCAT(a, b) WCAT2(a, b)
#define V8 WCAT(v8_, SUFFIX)
typedef float V8 __attribute__((vector_size(32), aligned(4)));
#define LD(p) (*(const V8 *)(p))
#define ST(p, v) (*(V8 *)(p) = (v))

// Neighbouring columns come from shuffles of aligned-to-the-tile loads, not from loads offset by one float.

// V[ξ][c][j] for tiles t0 … t0 + tc − 1 (see moe_wino_input).
TARGET static void WCAT(wino_input_, SUFFIX)(const float *x, int C, int c0, int cn, int H, int W, int padT, int padL,
                                            int TH, int TW, long t0, int tc, float *V, long ldv, float *work) {
  const long perImage = (long)TH * TW, plane = (long)H * W, xiStride = moe_wino_xi_stride(C, ldv);
  const long pitch = moe_wino_pitch(TW);
  long t = t0, end = t0 + tc;
  while (t < end) {
    // The chunk's tiles in image n: tile rows th0 … th1, staged per channel as rows 2·th0 − padT … 2·th1 − padT + 3,
    // column k of the stage = input column k − padL (zeros outside the image).
    long n = t / perImage, imageEnd = (n + 1) * perImage < end ? (n + 1) * perImage : end;
    int th0 = (int)((t % perImage) / TW), th1 = (int)((imageEnd - 1) % perImage / TW);
    int rows = 2 * (th1 - th0) + 4, ih0 = 2 * th0 - padT;
    for (int c = c0; c < c0 + cn; c++) {
      const float *xc = x + (n * C + c) * plane;
      for (int r = 0; r < rows; r++) {
        float *dst = work + r * pitch;
        int ih = ih0 + r;
        if (ih < 0 || ih >= H) {
          for (long k = 0; k < pitch; k++) dst[k] = 0;
          continue;
        }
        const float *src = xc + (long)ih * W;
        int k = 0;
        for (; k < padL; k++) dst[k] = 0;
        for (int i = 0; i < W; i++) dst[padL + i] = src[i];
        for (k = padL + W; k < pitch; k++) dst[k] = 0;
      }
      float *restrict v = V + (long)c * ldv + (t - t0);
      for (long s = t; s < imageEnd;) {
        int th = (int)(s % perImage / TW), tw0 = (int)(s % perImage % TW);
        int seg = (int)((long)(TW - tw0) < imageEnd - s ? (long)(TW - tw0) : imageEnd - s);
        const float *lines = work + (long)(2 * (th - th0)) * pitch + 2 * tw0;
        for (int j = 0; j < seg; j += 8) {
          // Per row: columns d0 = E, d1 = O, d2 = E shifted by one tile, d3 = O shifted; then d·B.
          V8 a[4][4];
          for (int r = 0; r < 4; r++) {
            const float *l = lines + r * pitch + 2 * j;
            V8 p = LD(l), q = LD(l + 8), nx = LD(l + 16);
            V8 e = __builtin_shufflevector(p, q, 0, 2, 4, 6, 8, 10, 12, 14);
            V8 o = __builtin_shufflevector(p, q, 1, 3, 5, 7, 9, 11, 13, 15);
            V8 en = __builtin_shufflevector(e, nx, 1, 2, 3, 4, 5, 6, 7, 8);
            V8 on = __builtin_shufflevector(o, nx, 1, 2, 3, 4, 5, 6, 7, 9);
            a[r][0] = e - en;
            a[r][1] = o + en;
            a[r][2] = en - o;
            a[r][3] = o - on;
          }
          // Bᵀ·(d·B) down the rows.
          for (int k = 0; k < 4; k++) {
            ST(v + (0 + k) * xiStride + j, a[0][k] - a[2][k]);
            ST(v + (4 + k) * xiStride + j, a[1][k] + a[2][k]);
            ST(v + (8 + k) * xiStride + j, a[2][k] - a[1][k]);
            ST(v + (12 + k) * xiStride + j, a[1][k] - a[3][k]);
          }
        }
        v += seg;
        s += seg;
      }
    }
    t = imageEnd;
  }
}

// y tiles t0 … t0 + tc − 1 from M[ξ][o][j] (see moe_wino_output).
TARGET static void WCAT(wino_output_, SUFFIX)(const float *M, int O, long ldm, int OH, int OW, int TH, int TW,
                                             long t0, int tc, const float *bias, float *y, float *work) {
  const long perImage = (long)TH * TW, plane = (long)OH * OW, xiStride = moe_wino_xi_stride(O, ldm);
  (void)work;
  long t = t0, end = t0 + tc;
  while (t < end) {
    long n = t / perImage, rem = t % perImage;
    int th = (int)(rem / TW), tw0 = (int)(rem % TW);
    int seg = (int)((long)(TW - tw0) < end - t ? (long)(TW - tw0) : end - t);
    long j0 = t - t0;
    int oh = 2 * th, ow0 = 2 * tw0, rows = oh + 1 < OH ? 2 : 1;
    for (int o = 0; o < O; o++) {
      const float *restrict m = M + (long)o * ldm + j0;
      float *yo = y + (n * O + o) * plane + (long)oh * OW + ow0;
      float b = bias ? bias[o] : 0.0f;
      for (int j = 0; j < seg; j += 8) {
        V8 mm[16];
        for (int k = 0; k < 16; k++) mm[k] = LD(m + k * xiStride + j);
        // Aᵀ·m per column (rows 0+1+2, 1−2−3), then ·A along the row; even and odd output columns interleaved.
        V8 c0 = mm[0] + mm[4] + mm[8], c1 = mm[1] + mm[5] + mm[9], c2 = mm[2] + mm[6] + mm[10];
        V8 c3 = mm[3] + mm[7] + mm[11];
        V8 d0 = mm[4] - mm[8] - mm[12], d1 = mm[5] - mm[9] - mm[13], d2 = mm[6] - mm[10] - mm[14];
        V8 d3 = mm[7] - mm[11] - mm[15];
        V8 out[2][2];
        V8 ev0 = c0 + c1 + c2 + b, od0 = c1 - c2 - c3 + b, ev1 = d0 + d1 + d2 + b, od1 = d1 - d2 - d3 + b;
        out[0][0] = __builtin_shufflevector(ev0, od0, 0, 8, 1, 9, 2, 10, 3, 11);
        out[0][1] = __builtin_shufflevector(ev0, od0, 4, 12, 5, 13, 6, 14, 7, 15);
        out[1][0] = __builtin_shufflevector(ev1, od1, 0, 8, 1, 9, 2, 10, 3, 11);
        out[1][1] = __builtin_shufflevector(ev1, od1, 4, 12, 5, 13, 6, 14, 7, 15);
        // Output columns 2j … 2j + 15 of this segment that lie inside the row.
        int cols = 2 * (seg - j) < 16 ? 2 * (seg - j) : 16;
        if (ow0 + 2 * j + cols > OW) cols = OW - ow0 - 2 * j;
        for (int h = 0; h < rows; h++) {
          float *dst = yo + (long)h * OW + 2 * j;
          if (cols == 16) {
            ST(dst, out[h][0]);
            ST(dst + 8, out[h][1]);
          } else {
            for (int i = 0; i < cols; i++) dst[i] = i < 8 ? out[h][0][i] : out[h][1][i - 8];
          }
        }
      }
    }
    t += seg;
  }
}

// ∂M[ξ][o][j] for tiles t0 … t0 + tc − 1 from gy (see moe_wino_grad_output): ∂m = A·∂Y·Aᵀ per tile.
TARGET static void WCAT(wino_grad_output_, SUFFIX)(const float *gy, int O, int o0, int on, int OH, int OW, int TH,
                                                  int TW, long t0, int tc, float *dM, long ldm, float *work) {
  const long perImage = (long)TH * TW, plane = (long)OH * OW, xiStride = moe_wino_xi_stride(O, ldm);
  const long pitch = moe_wino_pitch(TW);
  long t = t0, end = t0 + tc;
  while (t < end) {
    long n = t / perImage, imageEnd = (n + 1) * perImage < end ? (n + 1) * perImage : end;
    int th0 = (int)((t % perImage) / TW), th1 = (int)((imageEnd - 1) % perImage / TW);
    int rows = 2 * (th1 - th0) + 2;
    for (int o = o0; o < o0 + on; o++) {
      const float *go = gy + (n * O + o) * plane;
      // The tile rows' output rows, zero beyond OH × OW.
      for (int r = 0; r < rows; r++) {
        float *dst = work + r * pitch;
        int oh = 2 * th0 + r;
        if (oh >= OH) {
          for (long k = 0; k < pitch; k++) dst[k] = 0;
          continue;
        }
        const float *src = go + (long)oh * OW;
        for (int i = 0; i < OW; i++) dst[i] = src[i];
        for (long k = OW; k < pitch; k++) dst[k] = 0;
      }
      float *restrict d = dM + (long)o * ldm + (t - t0);
      for (long s = t; s < imageEnd;) {
        int th = (int)(s % perImage / TW), tw0 = (int)(s % perImage % TW);
        int seg = (int)((long)(TW - tw0) < imageEnd - s ? (long)(TW - tw0) : imageEnd - s);
        const float *l0 = work + (long)(2 * (th - th0)) * pitch + 2 * tw0, *l1 = l0 + pitch;
        for (int j = 0; j < seg; j += 8) {
          V8 p0 = LD(l0 + 2 * j), q0 = LD(l0 + 2 * j + 8), p1 = LD(l1 + 2 * j), q1 = LD(l1 + 2 * j + 8);
          V8 ev0 = __builtin_shufflevector(p0, q0, 0, 2, 4, 6, 8, 10, 12, 14);
          V8 od0 = __builtin_shufflevector(p0, q0, 1, 3, 5, 7, 9, 11, 13, 15);
          V8 ev1 = __builtin_shufflevector(p1, q1, 0, 2, 4, 6, 8, 10, 12, 14);
          V8 od1 = __builtin_shufflevector(p1, q1, 1, 3, 5, 7, 9, 11, 13, 15);
          // Rows of A·∂Y: ∂Y₀, ∂Y₀ + ∂Y₁, ∂Y₀ − ∂Y₁, −∂Y₁; each row (a, b) times Aᵀ: a, a + b, a − b, −b.
          V8 a[4] = {ev0, ev0 + ev1, ev0 - ev1, -ev1}, b[4] = {od0, od0 + od1, od0 - od1, -od1};
          for (int i = 0; i < 4; i++) {
            ST(d + (4 * i + 0) * xiStride + j, a[i]);
            ST(d + (4 * i + 1) * xiStride + j, a[i] + b[i]);
            ST(d + (4 * i + 2) * xiStride + j, a[i] - b[i]);
            ST(d + (4 * i + 3) * xiStride + j, -b[i]);
          }
        }
        d += seg;
        s += seg;
      }
    }
    t = imageEnd;
  }
}

#undef LD
#undef ST
#undef V8
#undef WCAT
#undef WCAT2
