// MoeNativeShim: C helpers of the native runtime. OpenBLAS core selection: picks OpenBLAS's compute kernels from CPUID when its own detection falls back to a generic core.
#ifndef MOE_NATIVE_SHIM_H
#define MOE_NATIVE_SHIM_H

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

/// The widest vector kernels this CPU and OS run: 2 AVX-512, 1 AVX2 + FMA, 0 SSE (CPUID, checked once), capped by
/// the environment variable MOE_VECTOR_LEVEL (0, 1 or 2) when it is set lower.
int moe_vector_level(void);

/// y[i] = e^x[i], tanh(x[i]), 1 / (1 + e^−x[i]) for i < n, vectorised (AVX-512, AVX2 + FMA or SSE by CPUID);
/// within 3 ulp of the correctly rounded value over the whole float range (denormals, ±∞ and NaN included); y may
/// be x.
void moe_exp_f32(const float *x, float *y, long n);
void moe_tanh_f32(const float *x, float *y, long n);
void moe_sigmoid_f32(const float *x, float *y, long n);
/// For tests: function 0 exp, 1 tanh, 2 sigmoid at vector level `level` (0 SSE, 1 AVX2, 2 AVX-512); returns 0 (and
/// does nothing) when the level is above moe_vector_level() or an argument is out of range.
int moe_transcendental_f32_at(int function, int level, const float *x, float *y, long n);

/// 2×2 max pooling with stride 2 of one plane (row length W) into y (OH × OW), windows inside the plane
/// (2·OH ≤ H, 2·OW ≤ W); NaN propagates.
void moe_maxpool2x2(const float *x, long W, float *y, long OH, long OW);
/// One row upsampled 2× (W ≥ 1 → 2W): `linear` 1 is bilinear with half-pixel centres (the edges clamped), computed as
/// x0 + (x1 − x0)·w like the general resize; 0 is nearest.
void moe_upsample2x_row(const float *src, long W, float *dst, int linear);

/// Output-channel-blocked direct convolution (blocked_conv.c). Channels per block: 32 (AVX-512), 16 (AVX2 + FMA),
/// 0 when this CPU has neither (then the kernel is unavailable); output pixels per tile: 8, 6 or 0.
int moe_blocked_conv_block(void);
int moe_blocked_conv_pixels(void);
/// Weights w (O, C, KH, KW) re-laid for blocks [b0, b0 + bn) as wp[b][c][ki][kj][B] (B = the block), zero past O;
/// wp holds ceil(O / B)·B·C·KH·KW floats.
void moe_blocked_conv_pack_weights(const float *w, int O, int C, int KH, int KW, int b0, int bn, float *wp);
/// Channels [c0, c0 + cn) of x (C, H, W) into xp (C, HP, WP), shifted by (padT, padL), zero around.
void moe_blocked_conv_pad_input(const float *x, int H, int W, int padT, int padL, int HP, int WP, int c0, int cn,
                                float *xp);
/// Output rows [row0, row0 + rows) of channel block ob of an (O, OH, OW) output from the padded input xp (C, HP, WP)
/// and packed weights wp, plus bias (or NULL); output (o, oh, ow) is stored at y[o·oplane + oh·orow + ow·ocol] (a
/// plain plane: OH·OW, OW, 1; one phase of a strided transposed conv: every s-th row and column). HP > (OH − 1)·sh
/// + (KH − 1)·dh and WP > (⌈OW / PX⌉·PX − 1)·sw + (KW − 1)·dw: every tile reads inside xp.
void moe_blocked_conv_rows(const float *xp, int C, int HP, int WP, const float *wp, const float *bias, float *y,
                           int O, int KH, int KW, int sh, int sw, int dh, int dw, int OH, int OW, int ob, int row0,
                           int rows, long oplane, long orow, int ocol);
/// Weights w (C, O, KH, KW) of a transposed conv re-laid, for one output phase, as a TR × TC conv's packed weights:
/// wp[b][c][a][a'][B] = w[c][b·B + v][rowTaps[a]][colTaps[a']], blocks [b0, b0 + bn), zero past O.
void moe_blocked_convT_pack_weights(const float *w, int C, int O, int KH, int KW, const int *rowTaps, int TR,
                                    const int *colTaps, int TC, int b0, int bn, float *wp);

/// Direct stride-1 convolution of one image and group, output rows [row0, row0 + rows): x (C, H, W), w (O, C, KH,
/// KW), bias (O) or NULL, y (O, OH, OW). `work` holds `moe_direct_conv_work_floats(C, KH, KW, dilH, dilW, OW)` floats.
/// Vectorised along output rows (AVX-512, AVX2 + FMA or SSE by CPUID), output channels in blocks of 4; for few
/// output channels, where im2col or shifted products would move far more memory than they compute. KH ≤ 64.
void moe_direct_conv_rows(const float *x, const float *w, const float *bias, float *y, int C, int H, int W, int O,
                          int KH, int KW, int padT, int padL, int dilH, int dilW, int OH, int OW, int row0, int rows,
                          float *work);
unsigned long moe_direct_conv_work_floats(int C, int KH, int KW, int dilH, int dilW, int OW);
unsigned long moe_direct_conv_row_floats(int KW, int dilW, int OW);

/// Adds to gw (O, C, KH, KW) the weight gradient of a stride-1 convolution of one image and group over input
/// channels [c0, c0 + cn): gw[o, c, ki, kj] += Σ gy[o, oh, ow] · x[c, oh − padT + ki·dilH, ow − padL + kj·dilW].
/// x (C, H, W), gy (O, OH, OW). `work` holds `moe_direct_filter_grad_work_floats(…)` floats. For few output channels
/// (blocks of 4), where an im2col matrix of C·KH·KW rows per image would dominate.
void moe_direct_filter_grad(const float *x, const float *gy, float *gw, int c0, int cn, int C, int H, int W, int O,
                            int KH, int KW, int padT, int padL, int dilH, int dilW, int OH, int OW, float *work);
unsigned long moe_direct_filter_grad_work_floats(int KH, int KW, int dilH, int dilW, int O, int OH, int OW);

/// Winograd F(2×2, 3×3) weight transform of output channels [o0, o0 + on): w (O, C, 3, 3) → U[ξ][o][c] (16 × O × C).
void moe_wino_weights(const float *w, int O, int C, int o0, int on, float *U);
/// Input transform of channels [c0, c0 + cn) and tiles [t0, t0 + tc) of x (N, C, H, W): tile t = (n, th, tw) in row-major order over (N, TH, TW)
/// covers input rows 2·th − padT … + 3 and columns 2·tw − padL … + 3 (zero outside). ldv ≥ tc + 8 (vectors of 8 tiles may run over). Writes V[ξ][c][t − t0] at
/// ξ·moe_wino_xi_stride(C, ldv) + c·ldv + t − t0. `work` holds `moe_wino_work_floats(TW, tc)` floats.
void moe_wino_input(const float *x, int C, int c0, int cn, int H, int W, int padT, int padL, int TH, int TW, long t0,
                    int tc, float *V, long ldv, float *work);
/// Output transform of tiles [t0, t0 + tc): M[ξ][o][t − t0] at ξ·moe_wino_xi_stride(O, ldm) + o·ldm + t − t0 → the 2×2 outputs of each tile
/// in y (N, O, OH, OW) (those inside OH × OW), plus bias[o]; ldm ≥ tc + 8 (bias may be NULL). `work`: `moe_wino_work_floats(TW, tc)`.
void moe_wino_output(const float *M, int O, long ldm, int OH, int OW, int TH, int TW, long t0, int tc,
                     const float *bias, float *y, float *work);
unsigned long moe_wino_work_floats(int TW, int tc);
/// The adjoint of the output transform for the weight gradient, channels [o0, o0 + on): ∂M[ξ][o][t − t0] = (A·∂Y·Aᵀ)[ξ] of each tile's 2×2
/// gradient ∂Y in gy (N, O, OH, OW) (zero outside OH × OW), at ξ·moe_wino_xi_stride(O, ldm) + o·ldm + t − t0;
/// ldm ≥ tc + 8. `work`: `moe_wino_work_floats(TW, tc)`.
void moe_wino_grad_output(const float *gy, int O, int o0, int on, int OH, int OW, int TH, int TW, long t0, int tc,
                          float *dM, long ldm, float *work);
/// The adjoint of the weight transform for output channels [o0, o0 + on): gw (O, C, 3, 3) = Gᵀ·∂U[·][o][c]·G.
void moe_wino_weights_grad(const float *dU, int O, int C, int o0, int on, float *gw);
/// Floats per staged input row of the input transform: the padded row and a vector of overrun.
static inline long moe_wino_pitch(int TW) { return ((2L * TW + 2 + 24) + 7) / 8 * 8; }
/// Floats between the 16 matrices V[ξ] (rows × ld) or M[ξ]: rows · ld plus 16, so that the 16 streams the transforms
/// read or write at once do not fall into the same cache sets (a multiple of 4 KiB would).
static inline long moe_wino_xi_stride(int rows, long ld) { return (long)rows * ld + 16; }

/// A work item of `moe_pool_run`: item index and worker id (0 for the calling thread, 1… for helpers).
typedef void (*moe_pool_task)(void *ctx, long item, int worker);

/// Runs `fn(ctx, i, worker)` for every i in [0, count) on the calling thread and up to `workers − 1` helper threads
/// of a process-wide pool; returns when all items are done. No two concurrent calls share a worker id. Helpers spin
/// about 0.2 ms for the next job, then sleep. Nested calls, and a call while another thread's job runs, run serially.
void moe_pool_run(int workers, long count, moe_pool_task fn, void *ctx);

/// Atomically adds `v` to `*p` and returns the old value (relaxed order: a work counter).
static inline long moe_fetch_add(long *p, long v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

#endif
