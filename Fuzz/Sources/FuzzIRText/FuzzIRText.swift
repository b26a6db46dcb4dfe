// FuzzIRText: libFuzzer entry for the IR text parser and the graph verifier.
import MoeIR

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIRText(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let g = try? IRText.parse(text, source: "fuzz.moeir") { _ = try? g.verify(requireWeights: false) }
  return 0
}
