// gemm-fma.c: gemmPacked of Sources/MoeKernels/Gemm.swift for the relaxed-SIMD build (kernels-mt-fma.wasm): the same
// packed panels and 4×8 register blocks, accumulated with f32x4.relaxed_madd (a fused multiply-add where the CPU has one).
#include <wasm_simd128.h>

#define ROWS 4
#define COLS 8

static inline v128_t madd(v128_t a, v128_t b, v128_t c) { return __builtin_wasm_relaxed_madd_f32x4(a, b, c); }

/* C[0..rows, 0..cols] (row stride ldc) = bias + A-panel · B-panel over k (`accumulate`: plus what C holds). */
static void block(int k, const float *a, const float *b, float *c, int ldc, int rows, int cols, const float *bias,
                  int accumulate) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (bias) {
    c00 = c01 = wasm_f32x4_splat(bias[0]);
    if (rows > 1) c10 = c11 = wasm_f32x4_splat(bias[1]);
    if (rows > 2) c20 = c21 = wasm_f32x4_splat(bias[2]);
    if (rows > 3) c30 = c31 = wasm_f32x4_splat(bias[3]);
  }
  for (int i = 0; i < k; i++, a += ROWS, b += COLS) {
    v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    v128_t a0 = wasm_v128_load32_splat(a);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    v128_t a1 = wasm_v128_load32_splat(a + 1);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    v128_t a2 = wasm_v128_load32_splat(a + 2);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    v128_t a3 = wasm_v128_load32_splat(a + 3);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
  }
  float t[ROWS * COLS] __attribute__((aligned(16)));
  if (rows == ROWS && cols == COLS) {
    float *r0 = c, *r1 = c + ldc, *r2 = r1 + ldc, *r3 = r2 + ldc;
    if (accumulate) {
      c00 = wasm_f32x4_add(c00, wasm_v128_load(r0)); c01 = wasm_f32x4_add(c01, wasm_v128_load(r0 + 4));
      c10 = wasm_f32x4_add(c10, wasm_v128_load(r1)); c11 = wasm_f32x4_add(c11, wasm_v128_load(r1 + 4));
      c20 = wasm_f32x4_add(c20, wasm_v128_load(r2)); c21 = wasm_f32x4_add(c21, wasm_v128_load(r2 + 4));
      c30 = wasm_f32x4_add(c30, wasm_v128_load(r3)); c31 = wasm_f32x4_add(c31, wasm_v128_load(r3 + 4));
    }
    wasm_v128_store(r0, c00); wasm_v128_store(r0 + 4, c01); wasm_v128_store(r1, c10); wasm_v128_store(r1 + 4, c11);
    wasm_v128_store(r2, c20); wasm_v128_store(r2 + 4, c21); wasm_v128_store(r3, c30); wasm_v128_store(r3 + 4, c31);
    return;
  }
  wasm_v128_store(t, c00); wasm_v128_store(t + 4, c01); wasm_v128_store(t + 8, c10); wasm_v128_store(t + 12, c11);
  wasm_v128_store(t + 16, c20); wasm_v128_store(t + 20, c21); wasm_v128_store(t + 24, c30); wasm_v128_store(t + 28, c31);
  for (int r = 0; r < rows; r++)
    for (int j = 0; j < cols; j++) c[r * ldc + j] = accumulate ? c[r * ldc + j] + t[r * COLS + j] : t[r * COLS + j];
}

/* C (m×n, row stride ldc) = bias + A·B for packed A and packed B: each B panel meets every A panel. */
void moe_gemm_fma(int m, int n, int k, const float *a, const float *b, float *c, int ldc, const float *bias,
                  int accumulate) {
  for (int j0 = 0; j0 < n; j0 += COLS) {
    int cols = n - j0 < COLS ? n - j0 : COLS;
    for (int i0 = 0; i0 < m; i0 += ROWS) {
      int rows = m - i0 < ROWS ? m - i0 : ROWS;
      block(k, a + i0 * k, b + j0 * k, c + i0 * ldc + j0, ldc, rows, cols, bias ? bias + i0 : 0, accumulate);
    }
  }
}
