// BLASCoreTests: OpenBLAS runs the kernels the CPU supports (CPUID read independently, from /proc/cpuinfo).
import Foundation
import MoeIR
import MoeTestSupport
import XCTest

@testable import MoeRuntime

final class BLASCoreTests: XCTestCase {
  /// The CPU flags the kernel reports for this machine.
  func cpuFlags() throws -> Set<String> {
    let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
      throw XCTSkip("no flags line in /proc/cpuinfo")  // not Linux x86: nothing to check
    }
    return Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
  }

  /// Cores OpenBLAS uses on CPUs it does not know: SSE kernels only.
  let genericCores: Set<String> = ["prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn",
                                   "dunnington", "nehalem", "atom", "unknown", "opteron", "opteron_sse3", "barcelona"]

  func testOpenBLASUsesTheWidestVectorKernelsTheCPUHas() throws {
    if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !forced.isEmpty {
      XCTAssertEqual(BLASCore.choice.changed, false, "OPENBLAS_CORETYPE=\(forced) must be respected")
      return
    }
    let flags = try cpuFlags()
    let active = BLASCore.choice.active.lowercased()
    if ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(flags.contains) {
      XCTAssertFalse(genericCores.contains(active), "AVX-512 CPU but OpenBLAS core is \(BLASCore.choice.active)")
      XCTAssertFalse(active == "haswell" && genericCores.contains(BLASCore.choice.detected.lowercased()),
                     "an AVX-512 CPU on a generic detection must get the SkylakeX kernels, got \(active)")
    } else if flags.contains("avx2") && flags.contains("fma") {
      XCTAssertFalse(genericCores.contains(active), "AVX2 CPU but OpenBLAS core is \(BLASCore.choice.active)")
    }
    if BLASCore.choice.changed { XCTAssertTrue(BLASCore.summary.contains("detected \(BLASCore.choice.detected)")) }
  }

  /// After re-selecting the core, products are still right: a 67×129×45 sgemm against a naive triple loop.
  func testProductsAfterReselectionMatchNaiveLoops() {
    _ = BLASCore.choice
    var rng = SplitMix64(seed: 7)
    let m = 67, k = 129, n = 45
    let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
    let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &rng) }
    var c = [Float](repeating: 0, count: m * n)
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in
          Kernels.sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, beta: 0,
                        c: cp.baseAddress!, ldc: n)
        }
      }
    }
    var worst: Float = 0
    for i in 0..<m {
      for j in 0..<n {
        var s: Double = 0
        for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
        worst = max(worst, abs(Float(s) - c[i * n + j]))
      }
    }
    XCTAssertLessThan(worst, 1e-4)
  }
}
