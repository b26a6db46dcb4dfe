// FuzzBundle: libFuzzer entry for the .moe bundle reader (header, manifest, graph, every tensor decoded).
import FuzzSupport
@testable import MoeFormats

let scratch = ScratchFile(ext: "moe")

/// Writes the input's length and content SHA-256 into its header, so that mutations reach the manifest and the
/// tensor decoders instead of all stopping at the checksum (which the unit tests already cover).
func withConsistentHeader(_ bytes: [UInt8]) -> [UInt8] {
  guard bytes.count >= MoeBundle.headerSize else { return bytes }
  var b = bytes
  for i in 0..<8 { b[48 + i] = UInt8(truncatingIfNeeded: UInt64(b.count) >> (8 * UInt64(i))) }
  b.replaceSubrange(64..<96, with: MoeBundle.contentDigest(b[MoeBundle.headerSize...]))
  return b
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBundle(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let fixed = withConsistentHeader(Array(UnsafeBufferPointer(start: data, count: size)))
  scratch.write(fixed)
  _ = try? MoeBundle.read(scratch.url)
  return 0
}
