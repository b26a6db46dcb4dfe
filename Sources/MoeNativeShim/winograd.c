// winograd.c: the transforms of Winograd F(2×2, 3×3) for stride-1 3×3 convolutions (weights, input tiles, output
// tiles), vectorised for AVX-512, AVX2 + FMA or SSE, chosen from CPUID at run time. The 16 products between the
// transforms are sgemm calls made by the runtime (Kernels+Winograd.swift).
#include "MoeNativeShim.h"
#include <stddef.h>

void moe_wino_weights(const float *w, int O, int C, int o0, int on, float *U) {
  // U = G·g·Gᵀ with G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]; U[ξ][o][c] at (ξ·O + o)·C + c.
  for (int o = o0; o < o0 + on; o++) {
    for (int c = 0; c < C; c++) {
      const float *g = w + ((size_t)o * C + c) * 9;
      float a[4][3];
      for (int k = 0; k < 3; k++) {
        float g0 = g[k], g1 = g[3 + k], g2 = g[6 + k];
        a[0][k] = g0;
        a[1][k] = 0.5f * (g0 + g1 + g2);
        a[2][k] = 0.5f * (g0 - g1 + g2);
        a[3][k] = g2;
      }
      for (int i = 0; i < 4; i++) {
        float u[4] = {a[i][0], 0.5f * (a[i][0] + a[i][1] + a[i][2]), 0.5f * (a[i][0] - a[i][1] + a[i][2]), a[i][2]};
        for (int j = 0; j < 4; j++) U[((size_t)(i * 4 + j) * O + o) * C + c] = u[j];
      }
    }
  }
}

void moe_wino_weights_grad(const float *dU, int O, int C, int o0, int on, float *gw) {
  // ∂g = Gᵀ·∂U·G (the adjoint of U = G·g·Gᵀ): rows k of Gᵀ·∂U, then the same along the columns.
  for (int o = o0; o < o0 + on; o++) {
    for (int c = 0; c < C; c++) {
      float u[4][4], a[3][4];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) u[i][j] = dU[((size_t)(i * 4 + j) * O + o) * C + c];
      for (int j = 0; j < 4; j++) {
        a[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
        a[1][j] = 0.5f * (u[1][j] - u[2][j]);
        a[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
      }
      float *g = gw + ((size_t)o * C + c) * 9;
      for (int k = 0; k < 3; k++) {
        g[3 * k + 0] = a[k][0] + 0.5f * (a[k][1] + a[k][2]);
        g[3 * k + 1] = 0.5f * (a[k][1] - a[k][2]);
        g[3 * k + 2] = 0.5f * (a[k][1] + a[k][2]) + a[k][3];
      }
    }
  }
}

unsigned long moe_wino_work_floats(int TW, int tc) {
  // The staged rows of one image's tile rows: at most tc / TW + 2 tile rows (a chunk may start and end mid-row).
  unsigned long tileRows = (unsigned long)tc / TW + 2;
  return (2 * tileRows + 2) * (unsigned long)moe_wino_pitch(TW);
}

#define ISA_BODY "winograd_body.h"
#include "isa_variants.h"

void moe_wino_input(const float *x, int C, int c0, int cn, int H, int W, int padT, int padL, int TH, int TW, long t0,
                    int tc, float *V, long ldv, float *work) {
  int level = moe_vector_level();
  if (level == 2) wino_input_avx512(x, C, c0, cn, H, W, padT, padL, TH, TW, t0, tc, V, ldv, work);
  else if (level == 1) wino_input_avx2(x, C, c0, cn, H, W, padT, padL, TH, TW, t0, tc, V, ldv, work);
  else wino_input_sse(x, C, c0, cn, H, W, padT, padL, TH, TW, t0, tc, V, ldv, work);
}

void moe_wino_grad_output(const float *gy, int O, int o0, int on, int OH, int OW, int TH, int TW, long t0, int tc,
                          float *dM, long ldm, float *work) {
  int level = moe_vector_level();
  if (level == 2) wino_grad_output_avx512(gy, O, o0, on, OH, OW, TH, TW, t0, tc, dM, ldm, work);
  else if (level == 1) wino_grad_output_avx2(gy, O, o0, on, OH, OW, TH, TW, t0, tc, dM, ldm, work);
  else wino_grad_output_sse(gy, O, o0, on, OH, OW, TH, TW, t0, tc, dM, ldm, work);
}

void moe_wino_output(const float *M, int O, long ldm, int OH, int OW, int TH, int TW, long t0, int tc,
                     const float *bias, float *y, float *work) {
  int level = moe_vector_level();
  if (level == 2) wino_output_avx512(M, O, ldm, OH, OW, TH, TW, t0, tc, bias, y, work);
  else if (level == 1) wino_output_avx2(M, O, ldm, OH, OW, TH, TW, t0, tc, bias, y, work);
  else wino_output_sse(M, O, ldm, OH, OW, TH, TW, t0, tc, bias, y, work);
}
