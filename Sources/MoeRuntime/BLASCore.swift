// BLASCore: which OpenBLAS kernels the native runtime uses, re-selected from CPUID when OpenBLAS does not know the CPU.
import MoeNativeShim

/// The OpenBLAS kernel set ("core") in use. OpenBLAS 0.3.21 (Debian 12) falls back to its SSE3 "Prescott" kernels on
/// CPUs newer than its table (e.g. Sapphire Rapids), running MoeKit's convolutions at 40% of the speed the
/// machine has; MoeKit then re-initialises it with the AVX-512 (SkylakeX) or AVX2 (Haswell) kernels the CPU supports.
/// `OPENBLAS_CORETYPE` in the environment always wins.
public enum BLASCore {
  /// What OpenBLAS detected, what is active, and whether MoeKit changed it. Evaluated once, before the first GEMM.
  public static let choice: (detected: String, active: String, changed: Bool) = {
    let c = moe_blas_tune()
    return (String(cString: c.detected), String(cString: c.active), c.changed != 0)
  }()

  /// One line for reports: "OpenBLAS core SkylakeX (OpenBLAS detected Prescott; chosen from CPUID)".
  public static var summary: String {
    let c = choice
    return c.changed
      ? "OpenBLAS core \(c.active) (OpenBLAS detected \(c.detected); chosen from CPUID)"
      : "OpenBLAS core \(c.active)"
  }
}
