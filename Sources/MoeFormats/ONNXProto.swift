// ONNXProto: small helpers over the protoc-c generated ONNX structs (CONNX): an arena that owns every C
// allocation of a message tree being built for packing, and readers for strings and repeated fields.
import CONNX
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Owns the malloc'ed pieces of a protobuf-c message tree under construction; frees them all at deinit.
final class ONNXArena {
  private var blocks: [UnsafeMutableRawPointer] = []

  deinit { for b in blocks { free(b) } }

  /// A zeroed C array of `count` elements (at least one, so the pointer is never null).
  func array<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
    let p = calloc(max(count, 1), MemoryLayout<T>.stride)!
    blocks.append(p)
    return p.bindMemory(to: T.self, capacity: max(count, 1))
  }

  /// A message initialised by its generated `__init` function.
  func message<T>(_ type: T.Type, _ initialize: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
    let p = array(T.self, 1)
    initialize(p)
    return p
  }

  func string(_ s: String) -> UnsafeMutablePointer<CChar> {
    let p = strdup(s)!
    blocks.append(UnsafeMutableRawPointer(p))
    return p
  }

  func strings(_ list: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
    let p = array(UnsafeMutablePointer<CChar>?.self, list.count)
    for (i, s) in list.enumerated() { p[i] = string(s) }
    return p
  }

  func pointers<T>(_ list: [UnsafeMutablePointer<T>]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
    let p = array(UnsafeMutablePointer<T>?.self, list.count)
    for (i, e) in list.enumerated() { p[i] = e }
    return p
  }

  func int64s(_ list: [Int]) -> UnsafeMutablePointer<Int64> {
    let p = array(Int64.self, list.count)
    for (i, v) in list.enumerated() { p[i] = Int64(v) }
    return p
  }

  func bytes(_ data: [UInt8]) -> ProtobufCBinaryData {
    let p = array(UInt8.self, data.count)
    data.withUnsafeBufferPointer { src in
      if let base = src.baseAddress { p.update(from: base, count: data.count) }
    }
    return ProtobufCBinaryData(len: data.count, data: p)
  }
}

/// Swift views of C fields.
enum ONNXC {
  static func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
    guard let p else { return "" }
    return String(cString: p)
  }

  static func strings(_ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ n: Int) -> [String] {
    guard let p else { return [] }
    return (0..<n).map { string(p[$0]) }
  }

  static func list<T>(_ p: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ n: Int) -> [UnsafeMutablePointer<T>] {
    guard let p else { return [] }
    return (0..<n).compactMap { p[$0] }
  }

  static func ints(_ p: UnsafeMutablePointer<Int64>?, _ n: Int) -> [Int] {
    guard let p else { return [] }
    return (0..<n).map { Int(p[$0]) }
  }

  static func floats(_ p: UnsafeMutablePointer<Float>?, _ n: Int) -> [Float] {
    guard let p else { return [] }
    return Array(UnsafeBufferPointer(start: p, count: n))
  }
}
