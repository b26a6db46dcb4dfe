// isa_variants.h: includes the body header named by ISA_BODY (a string) three times, with SUFFIX (function name
// suffix) and TARGET (a target attribute) set for AVX-512, AVX2 + FMA and baseline SSE; the caller then picks one
// variant per call from moe_vector_level(). Include it once per body after defining ISA_BODY.
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,fma")))
#include ISA_BODY
#undef SUFFIX
#undef TARGET

#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#include ISA_BODY
#undef SUFFIX
#undef TARGET

#define SUFFIX sse
#define TARGET
#include ISA_BODY
#undef SUFFIX
#undef TARGET
#undef ISA_BODY
