// FuzzNPY: libFuzzer entry for the .npy decoder (header, dtype, shape, data size).
import MoeFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let a = try? Npy.decode(bytes, file: "fuzz.npy") { _ = try? a.floats() }
  return 0
}
