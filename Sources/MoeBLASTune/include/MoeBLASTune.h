// MoeBLASTune: picks OpenBLAS's compute kernels from CPUID when its own detection falls back to a generic core.
#ifndef MOE_BLAS_TUNE_H
#define MOE_BLAS_TUNE_H

/// What `moe_blas_tune` found and did. The strings are static (never freed).
typedef struct {
  /// The core OpenBLAS chose by itself at load time, e.g. "Prescott" on a CPU newer than the library.
  const char *detected;
  /// The core in use afterwards (equal to `detected` when nothing was changed).
  const char *active;
  /// 1 when MoeKit re-selected the core, 0 when OpenBLAS's choice was kept (or OPENBLAS_CORETYPE was set).
  int changed;
} moe_blas_core_choice;

/// Once per process, before the first BLAS call: when OpenBLAS (a DYNAMIC_ARCH build) detected a generic core
/// (Prescott, Core2, Nehalem, …: its CPU table predates the machine) although the CPU and the OS support
/// AVX-512 (F, BW, DQ, VL, CD) or AVX2 + FMA, re-initialise OpenBLAS with the SkylakeX or Haswell kernels. A user's
/// OPENBLAS_CORETYPE is always respected. Not thread-safe: call it before other threads use BLAS.
moe_blas_core_choice moe_blas_tune(void);

#endif
