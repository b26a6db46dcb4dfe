// direct_filter_grad.c: the weight gradient of a stride-1 convolution with few output channels, summed directly
// (no im2col matrix of C·KH·KW rows per image), vectorised along output rows (AVX-512, AVX2 + FMA or SSE by CPUID).
#include "MoeNativeShim.h"
#include <stddef.h>

unsigned long moe_direct_filter_grad_work_floats(int KH, int KW, int dilH, int dilW, int O, int OH, int OW) {
  size_t OWr = ((size_t)OW + 15) / 16 * 16;
  size_t Hp = (size_t)OH + (size_t)(KH - 1) * dilH;
  return Hp * moe_direct_conv_row_floats(KW, dilW, OW) + (size_t)O * OH * OWr;
}

#define LANES 16
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#include "direct_filter_grad_body.h"
#undef LANES
#undef SUFFIX
#undef TARGET

#define LANES 8
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "direct_filter_grad_body.h"
#undef LANES
#undef SUFFIX
#undef TARGET

#define LANES 4
#define SUFFIX sse
#define TARGET
#include "direct_filter_grad_body.h"
#undef LANES
#undef SUFFIX
#undef TARGET

void moe_direct_filter_grad(const float *x, const float *gy, float *gw, int c0, int cn, int C, int H, int W, int O,
                            int KH, int KW, int padT, int padL, int dilH, int dilW, int OH, int OW, float *work) {
  int level = moe_vector_level();
  if (level == 2) {
    direct_filter_grad_avx512(x, gy, gw, C, c0, cn, C, H, W, O, KH, KW, padT, padL, dilH, dilW, OH, OW, work);
  } else if (level == 1) {
    direct_filter_grad_avx2(x, gy, gw, C, c0, cn, C, H, W, O, KH, KW, padT, padL, dilH, dilW, OH, OW, work);
  } else {
    direct_filter_grad_sse(x, gy, gw, C, c0, cn, C, H, W, O, KH, KW, padT, padL, dilH, dilW, OH, OW, work);
  }
}
