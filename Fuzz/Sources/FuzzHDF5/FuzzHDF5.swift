// FuzzHDF5: libFuzzer entry for the HDF5 checkpoint reader (every dataset read).
import FuzzSupport
import MoeFormats

let scratch = ScratchFile(ext: "h5")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHDF5(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  scratch.write(data, size)
  if let all = try? HDF5File(url: scratch.url).readAll() { for a in all.values { _ = try? a.floats() } }
  return 0
}
