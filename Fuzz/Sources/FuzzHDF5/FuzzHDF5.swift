// FuzzHDF5: libFuzzer entry for the HDF5 checkpoint reader (every dataset read).
import Foundation
import FuzzSupport
import MoeFormats

let scratch = ScratchFile(ext: "h5")

/// As in the `moe` tool: a child process parses each input first, so a crash inside libhdf5 itself comes back as an
/// error. A child that crashed anywhere else (MoeKit's own code) aborts the fuzzer, which then keeps the input.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
  HDF5Isolation.runProbeIfRequested()
  HDF5Isolation.current = .childProcess(executable: "/proc/self/exe")
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHDF5(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  scratch.write(data, size)
  do {
    for a in try HDF5File(url: scratch.url).readAll().values { _ = try? a.floats() }
  } catch {
    let text = "\(error)"
    if text.contains("crashed a probe process") && !text.contains("inside libhdf5") {
      FileHandle.standardError.write(Data("FuzzHDF5: \(text)\n".utf8))
      abort()
    }
  }
  return 0
}
