// FuzzONNX: libFuzzer entry for the ONNX importer (protobuf decode, op mapping, graph verification).
import MoeFormats
import MoeIR

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  if let g = try? ONNXImporter.parse(Array(UnsafeBufferPointer(start: data, count: size))) { _ = IRText.print(g) }
  return 0
}
