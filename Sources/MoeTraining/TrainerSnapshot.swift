// TrainerSnapshot: the trainer's state as a Chainer trainer snapshot (updater/model:…, updater/optimizer:…) and back.
import Foundation
import MoeFormats
import MoeIR

extension DraganTrainer {
  /// Model weights under `prefix` (e.g. `updater/model:gen/`), BN layers with Chainer's `N` counter (0: not fine-tuning).
  func modelArrays(_ model: String, prefix: String) throws -> [(String, NpyArray)] {
    let form = model == "gen" ? graphs.generator : graphs.discriminator
    var out: [(String, NpyArray)] = []
    for w in form.graph.weights {
      let t = try weight(model, w.name)
      out.append((prefix + w.name, NpyArray(floats: t.data, shape: t.shape)))
    }
    for layer in form.batchNorms {
      let layerName = String(layer.gamma.dropLast("/gamma".count))
      out.append((prefix + layerName + "/N", NpyArray(int64s: [0], shape: [])))
    }
    return out
  }

  /// The whole state in Chainer's trainer-snapshot layout, plus MoeKit's own entries under `moekit/`.
  public func snapshotArrays(extra: [(String, NpyArray)] = []) throws -> [(String, NpyArray)] {
    var out = try modelArrays("gen", prefix: "updater/model:gen/") + modelArrays("dis", prefix: "updater/model:dis/")
    for (model, states, t) in [("gen", genState, genT), ("dis", disState, disT)] {
      let p = "updater/optimizer:\(model)/"
      out.append((p + "t", NpyArray(int64s: [Int64(t)], shape: [])))
      out.append((p + "epoch", NpyArray(int64s: [0], shape: [])))
      for key in states.keys.sorted() {
        let s = states[key]!, shape = try weight(model, key).shape
        out.append((p + key + "/m", NpyArray(floats: s.m, shape: shape)))
        out.append((p + key + "/v", NpyArray(floats: s.v, shape: shape)))
        out.append((p + key + "/t", NpyArray(int64s: [Int64(s.t)], shape: [])))
      }
    }
    out.append(("updater/iteration", NpyArray(int64s: [Int64(iteration)], shape: [])))
    let it = "updater/iterator:main/"
    out.append((it + "current_position", NpyArray(int64s: [Int64(iterator.position)], shape: [])))
    out.append((it + "epoch", NpyArray(int64s: [Int64(iterator.epoch)], shape: [])))
    out.append((it + "is_new_epoch", try NpyArray(dtype: .bool, shape: [], data: [iterator.isNewEpoch ? 1 : 0])))
    let detail = withUnsafeBytes(of: iterator.previousEpochDetail.bitPattern.littleEndian) { Array($0) }
    out.append((it + "previous_epoch_detail", try NpyArray(dtype: .float64, shape: [], data: detail)))
    return out + extra
  }

  /// Restores weights, Adam state and the iteration from a snapshot written by `snapshotArrays`.
  /// - Throws: `TrainingError` naming the file and the key that is missing or has the wrong shape.
  public func restore(from npz: NPZFile, file: String) throws {
    func array(_ key: String) throws -> NpyArray {
      guard npz.contains(key) else { throw TrainingError("\(file): key '\(key)' missing; not a snapshot of this model") }
      return try npz.array(key)
    }
    func floats(_ key: String, _ shape: [Int]) throws -> [Float] {
      let a = try array(key)
      guard a.shape == shape else { throw TrainingError("\(file): key '\(key)' has shape \(a.shape), expected \(shape)") }
      return try a.floats()
    }
    func int(_ key: String) throws -> Int { Int(try array(key).int64s().first ?? 0) }
    for model in ["gen", "dis"] {
      let form = model == "gen" ? graphs.generator : graphs.discriminator
      for w in form.graph.weights {
        let shape = try weight(model, w.name).shape
        try setWeight(model, w.name, Tensor(shape: shape, data: try floats("updater/model:\(model)/" + w.name, shape)))
      }
      let p = "updater/optimizer:\(model)/"
      var states = model == "gen" ? genState : disState
      for key in states.keys {
        let shape = try weight(model, key).shape
        states[key]!.m = try floats(p + key + "/m", shape)
        states[key]!.v = try floats(p + key + "/v", shape)
        states[key]!.t = try int(p + key + "/t")
      }
      if model == "gen" { genState = states; genT = try int(p + "t") } else { disState = states; disT = try int(p + "t") }
    }
    iteration = try int("updater/iteration")
    let it = "updater/iterator:main/"
    iterator.position = try int(it + "current_position")
    iterator.epoch = try int(it + "epoch")
    iterator.isNewEpoch = try array(it + "is_new_epoch").floats().first == 1
    iterator.previousEpochDetail = Double(try array(it + "previous_epoch_detail").floats().first ?? -1)
  }
}
