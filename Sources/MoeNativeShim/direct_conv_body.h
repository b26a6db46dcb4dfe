// direct_conv_body.h: the body of the direct stride-1 convolution, included once per vector width by direct_conv.c
// with LANES (floats per vector), SUFFIX (function name suffix) and TARGET (a target attribute, or nothing) defined.
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define VEC CAT(vec_, SUFFIX)
typedef float VEC __attribute__((vector_size(LANES * 4), aligned(4)));

// One segment of 4 vectors of an output row for OB output channels: acc[o][v] += w[o,c,ki,kj] · x[c, ih, ow + kj·dw].
#define SEGMENT(OB)                                                                                            \
  do {                                                                                                         \
    VEC acc[OB][4];                                                                                            \
    for (int o = 0; o < OB; o++)                                                                               \
      for (int v = 0; v < 4; v++) acc[o][v] = (VEC){0};                                                        \
    for (int c = 0; c < C; c++) {                                                                              \
      for (int ki = 0; ki < KH; ki++) {                                                                        \
        if (!valid[ki]) continue;                                                                              \
        const float *r = work + ((size_t)c * span + slot[ki]) * L + seg;                                       \
        const float *wk = w + (((size_t)o0 * C + c) * KH + ki) * KW;                                           \
        for (int kj = 0; kj < KW; kj++) {                                                                      \
          const float *xs = r + kj * dilW;                                                                     \
          VEC x0 = *(const VEC *)(xs), x1 = *(const VEC *)(xs + LANES);                                        \
          VEC x2 = *(const VEC *)(xs + 2 * LANES), x3 = *(const VEC *)(xs + 3 * LANES);                        \
          for (int o = 0; o < OB; o++) {                                                                       \
            float s = wk[(size_t)o * C * KH * KW + kj];                                                        \
            VEC wv = (VEC){0} + s;                                                                             \
            acc[o][0] += wv * x0;                                                                              \
            acc[o][1] += wv * x1;                                                                              \
            acc[o][2] += wv * x2;                                                                              \
            acc[o][3] += wv * x3;                                                                              \
          }                                                                                                    \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
    for (int o = 0; o < OB; o++) {                                                                             \
      float b = bias ? bias[o0 + o] : 0.0f;                                                                    \
      float *yr = y + ((size_t)(o0 + o) * OH + oh) * OW + seg;                                                 \
      if (seg + 4 * LANES <= OW) {                                                                             \
        for (int v = 0; v < 4; v++) *(VEC *)(yr + v * LANES) = acc[o][v] + b;                                  \
      } else {                                                                                                 \
        float tmp[4 * LANES];                                                                                  \
        for (int v = 0; v < 4; v++) *(VEC *)(tmp + v * LANES) = acc[o][v] + b;                                 \
        for (int j = 0; j < OW - seg; j++) yr[j] = tmp[j];                                                     \
      }                                                                                                        \
    }                                                                                                          \
  } while (0)

TARGET static void CAT(direct_conv_rows_, SUFFIX)(const float *x, const float *w, const float *bias, float *y,
                                                  int C, int H, int W, int O, int KH, int KW, int padT, int padL,
                                                  int dilH, int dilW, int OH, int OW, int row0, int rows,
                                                  float *work) {
  const size_t L = moe_direct_conv_row_floats(KW, dilW, OW);
  const int span = (KH - 1) * dilH + 1;
  unsigned char valid[64];
  int slot[64];
  // The work holds, per channel, a ring of `span` zero-padded input rows (input row ih in slot ih mod span; buffer
  // index b holds input column b − padL): each input row is copied once per work item, not once per output row.
  int next = row0 - padT;  // first input row not yet in the ring
  for (int oh = row0; oh < row0 + rows; oh++) {
    int first = oh - padT, last = first + span - 1;
    if (next < first) next = first;
    for (int ih = next; ih <= last; ih++) {
      if (ih < 0 || ih >= H) continue;
      int sl = ih % span;
      for (int c = 0; c < C; c++) {
        float *r = work + ((size_t)c * span + sl) * L;
        const float *src = x + ((size_t)c * H + ih) * W;
        size_t n = (size_t)W, tail = L - (size_t)padL - n;
        for (int b = 0; b < padL; b++) r[b] = 0.0f;
        __builtin_memcpy(r + padL, src, n * sizeof(float));
        for (size_t b = 0; b < tail; b++) r[padL + n + b] = 0.0f;
      }
    }
    if (last + 1 > next) next = last + 1;
    for (int ki = 0; ki < KH; ki++) {
      int ih = first + ki * dilH;
      valid[ki] = ih >= 0 && ih < H;
      slot[ki] = valid[ki] ? ih % span : 0;
    }
    for (int o0 = 0; o0 < O; o0 += 4) {
      int ob = O - o0 < 4 ? O - o0 : 4;
      for (int seg = 0; seg < OW; seg += 4 * LANES) {
        switch (ob) {
          case 1: SEGMENT(1); break;
          case 2: SEGMENT(2); break;
          case 3: SEGMENT(3); break;
          default: SEGMENT(4); break;
        }
      }
    }
  }
}

#undef SEGMENT
#undef VEC
#undef CAT
#undef CAT2
