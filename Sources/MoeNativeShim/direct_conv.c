// direct_conv.c: direct stride-1 convolution for few output channels (e.g. a generator's last 9x9 conv to RGB),
// vectorised along output rows with AVX-512, AVX2+FMA or SSE, chosen from CPUID at run time.
#include "MoeNativeShim.h"
#include <stdlib.h>
#include <stddef.h>

int moe_vector_level(void) {
  static int level = -1;
  if (level < 0) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    level = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    // MOE_VECTOR_LEVEL=0/1 caps it (SSE, AVX2), to run the narrower kernels on a wider machine (tests, comparisons).
    const char *cap = getenv("MOE_VECTOR_LEVEL");
    if (cap && cap[0] >= '0' && cap[0] <= '2' && cap[1] == 0 && cap[0] - '0' < level) level = cap[0] - '0';
#else
    level = 0;
#endif
  }
  return level;
}

unsigned long moe_direct_conv_row_floats(int KW, int dilW, int OW) {
  // Whole segments of 4 vectors of up to 16 floats, plus the kernel's reach.
  size_t segs = ((size_t)OW + 63) / 64 * 64;
  return segs + (size_t)(KW - 1) * dilW + 64;
}

unsigned long moe_direct_conv_work_floats(int C, int KH, int KW, int dilH, int dilW, int OW) {
  return (size_t)C * ((KH - 1) * dilH + 1) * moe_direct_conv_row_floats(KW, dilW, OW);
}

#define LANES 16
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#include "direct_conv_body.h"
#undef LANES
#undef SUFFIX
#undef TARGET

#define LANES 8
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "direct_conv_body.h"
#undef LANES
#undef SUFFIX
#undef TARGET

#define LANES 4
#define SUFFIX sse
#define TARGET
#include "direct_conv_body.h"
#undef LANES
#undef SUFFIX
#undef TARGET

void moe_direct_conv_rows(const float *x, const float *w, const float *bias, float *y, int C, int H, int W, int O,
                          int KH, int KW, int padT, int padL, int dilH, int dilW, int OH, int OW, int row0, int rows,
                          float *work) {
  int level = moe_vector_level();
  if (level == 2) {
    direct_conv_rows_avx512(x, w, bias, y, C, H, W, O, KH, KW, padT, padL, dilH, dilW, OH, OW, row0, rows, work);
  } else if (level == 1) {
    direct_conv_rows_avx2(x, w, bias, y, C, H, W, O, KH, KW, padT, padL, dilH, dilW, OH, OW, row0, rows, work);
  } else {
    direct_conv_rows_sse(x, w, bias, y, C, H, W, O, KH, KW, padT, padL, dilH, dilW, OH, OW, row0, rows, work);
  }
}
