// blocked_conv.c: direct convolution blocked by output channels (AVX-512: 32 channels × 8 pixels per tile, AVX2 +
// FMA: 16 × 6), for convs that neither Winograd nor the few-output-channel kernel take (strided 4×4 downsampling,
// wide first layers): no im2col matrix, the weights re-laid once per run, the input padded once per image.
#include "MoeNativeShim.h"
#include <string.h>

#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,fma")))
#define VL 16
#define PX 8
#include "blocked_conv_body.h"
#undef SUFFIX
#undef TARGET
#undef VL
#undef PX

#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#define VL 8
#define PX 6
#include "blocked_conv_body.h"
#undef SUFFIX
#undef TARGET
#undef VL
#undef PX

int moe_blocked_conv_block(void) {
  int level = moe_vector_level();
  return level == 2 ? 32 : (level == 1 ? 16 : 0);
}

int moe_blocked_conv_pixels(void) {
  int level = moe_vector_level();
  return level == 2 ? 8 : (level == 1 ? 6 : 0);
}

void moe_blocked_conv_pack_weights(const float *w, int O, int C, int KH, int KW, int b0, int bn, float *wp) {
  // wp[b][c][ki][kj][v] = w[b·B + v][c][ki][kj], zero for channels past O.
  const int B = moe_blocked_conv_block();
  const long taps = (long)KH * KW;
  for (int b = b0; b < b0 + bn; b++) {
    float *dst = wp + (long)b * C * taps * B;
    for (int c = 0; c < C; c++) {
      for (long t = 0; t < taps; t++) {
        for (int v = 0; v < B; v++) {
          int o = b * B + v;
          dst[(c * taps + t) * B + v] = o < O ? w[((long)o * C + c) * taps + t] : 0.0f;
        }
      }
    }
  }
}

void moe_blocked_conv_pad_input(const float *x, int H, int W, int padT, int padL, int HP, int WP, int c0, int cn,
                                float *xp) {
  for (int c = c0; c < c0 + cn; c++) {
    const float *src = x + (long)c * H * W;
    float *dst = xp + (long)c * HP * WP;
    for (int i = 0; i < HP; i++) {
      float *row = dst + (long)i * WP;
      int si = i - padT;
      if (si < 0 || si >= H) { memset(row, 0, sizeof(float) * WP); continue; }
      int lo = padL < WP ? padL : WP, n = W < WP - lo ? W : WP - lo;
      memset(row, 0, sizeof(float) * lo);
      memcpy(row + lo, src + (long)si * W, sizeof(float) * n);
      if (lo + n < WP) memset(row + lo + n, 0, sizeof(float) * (WP - lo - n));
    }
  }
}

void moe_blocked_conv_rows(const float *xp, int C, int HP, int WP, const float *wp, const float *bias, float *y,
                           int O, int KH, int KW, int sh, int sw, int dh, int dw, int OH, int OW, int ob, int row0,
                           int rows, long oplane, long orow, int ocol) {
  int level = moe_vector_level();
  if (level == 2)
    bconv_rows_avx512(xp, C, HP, WP, wp, bias, y, O, KH, KW, sh, sw, dh, dw, OH, OW, ob, row0, rows, oplane, orow, ocol);
  else if (level == 1)
    bconv_rows_avx2(xp, C, HP, WP, wp, bias, y, O, KH, KW, sh, sw, dh, dw, OH, OW, ob, row0, rows, oplane, orow, ocol);
}

void moe_blocked_convT_pack_weights(const float *w, int C, int O, int KH, int KW, const int *rowTaps, int TR,
                                    const int *colTaps, int TC, int b0, int bn, float *wp) {
  // wp[b][c][a][a'][v] = w[c][b·B + v][rowTaps[a]][colTaps[a']], zero for channels past O.
  const int B = moe_blocked_conv_block();
  const long taps = (long)TR * TC;
  for (int b = b0; b < b0 + bn; b++) {
    float *dst = wp + (long)b * C * taps * B;
    for (int c = 0; c < C; c++) {
      for (int a = 0; a < TR; a++) {
        for (int a2 = 0; a2 < TC; a2++) {
          float *d = dst + ((long)c * taps + (long)a * TC + a2) * B;
          for (int v = 0; v < B; v++) {
            int o = b * B + v;
            d[v] = o < O ? w[(((long)c * O + o) * KH + rowTaps[a]) * KW + colTaps[a2]] : 0.0f;
          }
        }
      }
    }
  }
}
