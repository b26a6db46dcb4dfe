// FuzzNPZ: libFuzzer entry for the NPZ reader (zip directory, members, every array decoded).
import FuzzSupport
import MoeFormats

let scratch = ScratchFile(ext: "npz")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPZ(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  scratch.write(data, size)
  if let all = try? NPZFile(url: scratch.url).readAll() { for a in all.values { _ = try? a.floats() } }
  return 0
}
