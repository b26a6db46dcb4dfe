// MoeNativeShim: re-selects OpenBLAS's kernels from CPUID when its own table does not know the CPU (see the header).
#include "MoeNativeShim.h"
#include <stdlib.h>
#include <string.h>

// OpenBLAS (DYNAMIC_ARCH builds) exports these; they are not in cblas.h. Weak, so a static or non-dynamic OpenBLAS
// without them still links and the tuning is skipped.
extern char *openblas_get_corename(void);
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/// Cores OpenBLAS falls back to for an unknown CPU: SSE-only kernels on a machine with AVX2 or AVX-512.
static int is_generic_core(const char *name) {
  static const char *const generic[] = {"Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2",
                                        "Penryn", "Dunnington", "Nehalem", "Atom", "Unknown", "Opteron",
                                        "Opteron_SSE3", "Barcelona"};
  for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++) {
    if (strcasecmp(name, generic[i]) == 0) return 1;
  }
  return 0;
}

/// The best OpenBLAS core whose instructions this CPU and OS support, or NULL. `__builtin_cpu_supports` checks the
/// CPUID bits and, for AVX and AVX-512, that the OS saves the registers (XCR0).
static const char *best_supported_core(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512cd")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return NULL;
}

moe_blas_core_choice moe_blas_tune(void) {
  static int done = 0;
  static moe_blas_core_choice choice;
  if (done) return choice;
  done = 1;
  choice.detected = strdup(openblas_get_corename());
  choice.active = choice.detected;
  choice.changed = 0;
  const char *user = getenv("OPENBLAS_CORETYPE");
  if (user != NULL && user[0] != '\0') return choice;
  if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || !is_generic_core(choice.detected)) return choice;
  const char *best = best_supported_core();
  if (best == NULL) return choice;
  // gotoblas_dynamic_init reads OPENBLAS_CORETYPE; set it only for the re-initialisation.
  setenv("OPENBLAS_CORETYPE", best, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
  choice.active = strdup(openblas_get_corename());
  choice.changed = strcasecmp(choice.active, choice.detected) != 0;
  return choice;
}
