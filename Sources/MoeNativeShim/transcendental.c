// transcendental.c: vectorised exp, tanh and sigmoid over float arrays (AVX-512, AVX2 + FMA or SSE, chosen from
// CPUID at run time), for the runtime's activations: libm's scalar tanhf takes about 20 ns an element.
#include "MoeNativeShim.h"

#define ISA_BODY "transcendental_body.h"
#include "isa_variants.h"

#define DISPATCH(name)                                                    \
  void moe_##name##_f32(const float *x, float *y, long n) {               \
    int level = moe_vector_level();                                       \
    if (level == 2) name##_avx512(x, y, n);                               \
    else if (level == 1) name##_avx2(x, y, n);                            \
    else name##_sse(x, y, n);                                             \
  }

DISPATCH(exp)
DISPATCH(tanh)
DISPATCH(sigmoid)

int moe_transcendental_f32_at(int function, int level, const float *x, float *y, long n) {
  if (function < 0 || function > 2 || level < 0 || level > moe_vector_level()) return 0;
  typedef void (*kernel)(const float *, float *, long);
  static const kernel table[3][3] = {{exp_sse, exp_avx2, exp_avx512},
                                     {tanh_sse, tanh_avx2, tanh_avx512},
                                     {sigmoid_sse, sigmoid_avx2, sigmoid_avx512}};
  table[function][level](x, y, n);
  return 1;
}
