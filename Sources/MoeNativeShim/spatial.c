// spatial.c: vectorised 2×2 stride-2 max pooling and 2× row upsampling (AVX-512, AVX2 + FMA or SSE, chosen from
// CPUID at run time) for U-Net-like models; the general pooling and resize stay in Swift (Kernels+Spatial.swift).
#include "MoeNativeShim.h"

#define ISA_BODY "spatial_body.h"
#include "isa_variants.h"

void moe_maxpool2x2(const float *x, long W, float *y, long OH, long OW) {
  int level = moe_vector_level();
  if (level == 2) maxpool2x2_avx512(x, W, y, OH, OW);
  else if (level == 1) maxpool2x2_avx2(x, W, y, OH, OW);
  else maxpool2x2_sse(x, W, y, OH, OW);
}

void moe_upsample2x_row(const float *src, long W, float *dst, int linear) {
  int level = moe_vector_level();
  if (level == 2) upsample2x_row_avx512(src, W, dst, linear);
  else if (level == 1) upsample2x_row_avx2(src, W, dst, linear);
  else upsample2x_row_sse(src, W, dst, linear);
}
