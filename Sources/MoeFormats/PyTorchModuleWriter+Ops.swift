// PyTorchModuleWriter+Ops: each IR op as a PyTorch module (layers with weights) or a torch expression (everything else).
import MoeIR

extension PyTorchModuleWriter {
  /// Walks the graph once: module declarations for the layers, one forward line per node.
  struct Builder {
    let graph: Graph
    var moduleLines: [String] = []
    var forwardLines: [String] = []
    var usesDepthToSpaceDCR = false
    /// Layer path (`res/0/c1`) → constructor expression, in graph order.
    private var layers: [(path: String, constructor: String)] = []
    /// Graph value → Python variable.
    private(set) var names: [String: String] = [:]
    private var taken: Set<String> = ["self", "torch", "nn", "F", "os", "x_", "depth_to_space_dcr"]
    private var shapes: [String: Shape] = [:]
    private var weightShapes: [String: [Int]] = [:]
    /// Weights some layer owns; any other weight use is refused.
    private var owned: Set<String> = []

    init(graph: Graph) {
      self.graph = graph
      for w in graph.weights {
        shapes[w.name] = w.shape
        weightShapes[w.name] = w.shape.fixed ?? graph.initializers[w.name]?.shape
      }
      for i in graph.inputs { shapes[i.name] = i.shape }
    }

    /// The Python variable of a graph value (made an identifier, unique).
    mutating func variable(_ value: String) -> String {
      if let v = names[value] { return v }
      var base = String(value.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
      if base.isEmpty || base.first!.isNumber || Self.keywords.contains(base) { base = "v_" + base }
      var name = base
      var k = 1
      while taken.contains(name) { k += 1; name = "\(base)_\(k)" }
      taken.insert(name)
      names[value] = name
      return name
    }

    static let keywords: Set<String> = ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
                                        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
                                        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
                                        "return", "try", "while", "with", "yield", "input", "len", "min", "max"]

    func refuse(_ node: Node, _ why: String) -> ImportError {
      ImportError(file: graph.metadata["source"] ?? graph.name, key: node.name, "op '\(node.op.name)': \(why)")
    }

    /// The layer path of a node's parameter inputs (`res/0/c1` for `res/0/c1/W`), checking their names.
    private mutating func layerPath(_ node: Node, _ params: [String], suffixes: [String]) throws -> String {
      var path: String?
      for (p, s) in zip(params, suffixes) {
        guard weightShapes[p] != nil else { throw refuse(node, "input '\(p)' is computed, not a weight; PyTorch export needs layer weights") }
        guard p.hasSuffix("/" + s) else {
          throw refuse(node, "weight '\(p)' is not named as a layer parameter ('…/\(s)'); model.py export needs Chainer-style layer names (zoo models, Chainer checkpoints, traced graphs)")
        }
        let prefix = String(p.dropLast(s.count + 1))
        guard path == nil || path == prefix else { throw refuse(node, "weights '\(params.joined(separator: "', '"))' belong to different layers") }
        path = prefix
        guard owned.insert(p).inserted else { throw refuse(node, "weight '\(p)' is shared by several layers") }
      }
      let parts = path!.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }),
        parts[0].first.map({ !$0.isNumber }) ?? false, !Self.keywords.contains(String(parts[0])),
        !["training", "forward", "load", "WEIGHTS"].contains(String(parts[0]))
      else { throw refuse(node, "layer name '\(path!)' does not map to a PyTorch module path") }
      return path!
    }

    /// `self.res[0].c1` for `res/0/c1`.
    static func accessor(_ path: String) -> String {
      "self" + path.split(separator: "/").map { $0.allSatisfy(\.isNumber) ? "[\($0)]" : ".\($0)" }.joined()
    }

    mutating func build() throws {
      for node in graph.nodes {
        let ins: [Shape] = node.inputs.map { shapes[$0] ?? Shape([Dim]()) }
        if let out = try? node.op.inferShapes(ins) { for (o, s) in zip(node.outputs, out) { shapes[o] = s } }
        let expr = try expression(node)
        for i in node.inputs where weightShapes[i] != nil && !owned.contains(i) {
          throw refuse(node, "uses weight '\(i)' outside a layer; model.py export holds weights only in Linear/Conv/BatchNorm layers")
        }
        if node.outputs.count == 1 {
          forwardLines.append("\(variable(node.outputs[0])) = \(expr)")
        } else {
          forwardLines.append("\(node.outputs.map { variable($0) }.joined(separator: ", ")) = \(expr)")
        }
      }
      moduleLines = Self.declarations(layers)
    }

    /// Declarations of the module tree: `self.fc = nn.Linear(…)`, `self.res = nn.ModuleList([nn.ModuleDict({…}), …])`.
    static func declarations(_ layers: [(path: String, constructor: String)]) -> [String] {
      final class Tree {
        var order: [String] = []
        var children: [String: Tree] = [:]
        var constructor: String?
      }
      let root = Tree()
      for (path, constructor) in layers {
        var t = root
        for part in path.split(separator: "/").map(String.init) {
          if t.children[part] == nil { t.children[part] = Tree(); t.order.append(part) }
          t = t.children[part]!
        }
        t.constructor = constructor
      }
      func render(_ t: Tree, _ indent: String) -> [String] {
        if let c = t.constructor { return [c] }
        let numbered = t.order == t.order.indices.map(String.init)
        var out = [numbered ? "nn.ModuleList([" : "nn.ModuleDict({"]
        for key in t.order {
          var body = render(t.children[key]!, indent + "    ")
          body[0] = indent + "    " + (numbered ? "" : "\"\(key)\": ") + body[0]
          body[body.count - 1] += ","
          out += body
        }
        out.append(indent + (numbered ? "])" : "})"))
        return out
      }
      var lines: [String] = []
      for key in root.order {
        var body = render(root.children[key]!, "")
        body[0] = "self.\(key) = " + body[0]
        lines += body
      }
      return lines
    }

    private func rank(_ value: String) -> Int? { shapes[value].map(\.rank) }

    private func list(_ xs: [Int]) -> String { xs.count == 1 ? "(\(xs[0]),)" : "(" + xs.map(String.init).joined(separator: ", ") + ")" }

    /// The torch expression of one node (declaring its module first when it has weights).
    private mutating func expression(_ node: Node) throws -> String {
      let x = node.inputs.isEmpty ? "" : variable(node.inputs[0])
      let args = node.inputs.map { weightShapes[$0] == nil ? variable($0) : $0 }
      switch node.op {
      case .linear(let e):
        guard e.isPlain else { throw refuse(node, "fused epilogue; convert the graph as imported (no optimization)") }
        let path = try layerPath(node, Array(node.inputs.dropFirst()), suffixes: ["W", "b"])
        let w = weightShapes[node.inputs[1]]!
        layers.append((path, "nn.Linear(\(w[1]), \(w[0]), bias=\(node.inputs.count > 2 ? "True" : "False"))"))
        return "\(Self.accessor(path))(\(rank(node.inputs[0]) == 2 ? x : x + ".flatten(1)"))"
      case .conv2d(let a):
        guard a.epilogue.isPlain else { throw refuse(node, "fused epilogue; convert the graph as imported (no optimization)") }
        let path = try layerPath(node, Array(node.inputs.dropFirst()), suffixes: ["W", "b"])
        let w = weightShapes[node.inputs[1]]!
        let symmetric = a.pads[0] == a.pads[2] && a.pads[1] == a.pads[3]
        let padding = symmetric ? list([a.pads[0], a.pads[1]]) : "0"
        layers.append((path, "nn.Conv2d(\(w[1] * a.groups), \(w[0]), \(list([w[2], w[3]])), stride=\(list(a.strides)), padding=\(padding), dilation=\(list(a.dilations)), groups=\(a.groups), bias=\(node.inputs.count > 2 ? "True" : "False"))"))
        let input = symmetric ? x : "F.pad(\(x), (\(a.pads[1]), \(a.pads[3]), \(a.pads[0]), \(a.pads[2])))"
        return "\(Self.accessor(path))(\(input))"
      case .convTranspose2d(let a):
        guard a.epilogue.isPlain else { throw refuse(node, "fused epilogue; convert the graph as imported (no optimization)") }
        guard a.pads[0] == a.pads[2] && a.pads[1] == a.pads[3] else {
          throw refuse(node, "asymmetric pads \(a.pads); nn.ConvTranspose2d pads both sides alike")
        }
        let path = try layerPath(node, Array(node.inputs.dropFirst()), suffixes: ["W", "b"])
        let w = weightShapes[node.inputs[1]]!
        layers.append((path, "nn.ConvTranspose2d(\(w[0]), \(w[1] * a.groups), \(list([w[2], w[3]])), stride=\(list(a.strides)), padding=\(list([a.pads[0], a.pads[1]])), output_padding=\(list(a.outputPadding)), groups=\(a.groups), bias=\(node.inputs.count > 2 ? "True" : "False"), dilation=\(list(a.dilations)))"))
        return "\(Self.accessor(path))(\(x))"
      case .batchNorm(let eps):
        let path = try layerPath(node, Array(node.inputs.dropFirst()), suffixes: ["gamma", "beta", "avg_mean", "avg_var"])
        let c = weightShapes[node.inputs[1]]![0]
        let kind = rank(node.inputs[0]) == 4 ? "BatchNorm2d" : (rank(node.inputs[0]) == 5 ? "BatchNorm3d" : "BatchNorm1d")
        layers.append((path, "nn.\(kind)(\(c), eps=\(pythonFloat(eps)), momentum=0.1)"))
        return "\(Self.accessor(path))(\(x))"
      case .unary(let f):
        switch f {
        case .tanh, .sigmoid, .neg, .exp, .log, .sqrt, .reciprocal, .abs, .square, .sign, .erf: return "torch.\(f.rawValue)(\(x))"
        default: return "F.\(f.rawValue)(\(x))"  // relu, softplus and the newer activations (torch.nn.functional)
        }
      case .binary(let f):
        let fn = ["add": "torch.add", "sub": "torch.sub", "mul": "torch.mul", "div": "torch.div", "pow": "torch.pow",
                  "max": "torch.maximum", "min": "torch.minimum", "greater": "torch.gt", "less": "torch.lt", "equal": "torch.eq"][f.rawValue]!
        return "\(fn)(\(args[0]), \(args[1]))"
      case .leakyRelu(let alpha): return "F.leaky_relu(\(x), \(pythonFloat(alpha)))"
      case .clip(let lo, let hi): return "torch.clamp(\(x), \(pythonFloat(lo)), \(pythonFloat(hi)))"
      case .select: return "torch.where(\(args[0]), \(args[1]), \(args[2]))"
      case .softmax(let axis): return "torch.softmax(\(x), dim=\(axis))"
      case .logSoftmax(let axis): return "torch.log_softmax(\(x), dim=\(axis))"
      case .reshape(let shape):
        guard !shape.contains(0) else { throw refuse(node, "reshape with a 0 (copy) dimension \(shape)") }
        return "\(x).reshape(\(shape.map(String.init).joined(separator: ", ")))"
      case .flatten(let axis):
        return axis == 1 ? "\(x).flatten(1)" : "\(x).reshape(int(torch.tensor(\(x).shape[:\(axis)]).prod()), -1)"
      case .transpose(let perm): return "\(x).permute(\(perm.map(String.init).joined(separator: ", ")))"
      case .concat(let axis): return "torch.cat([\(args.joined(separator: ", "))], dim=\(axis))"
      case .depthToSpace(let block, .crd): return "F.pixel_shuffle(\(x), \(block))"
      case .depthToSpace(let block, .dcr):
        usesDepthToSpaceDCR = true
        return "depth_to_space_dcr(\(x), \(block))"
      case .spaceToDepth(let block): return "F.pixel_unshuffle(\(x), \(block))"
      case .globalAveragePool: return "\(x).mean(dim=(2, 3), keepdim=True)"
      case .globalMaxPool: return "\(x).amax(dim=(2, 3), keepdim=True)"
      case .identity: return x
      default:
        throw refuse(node, "no PyTorch form in model.py export yet (supported: linear, conv2d, conv_transpose2d, batch_norm, elementwise, leaky_relu, clip, softmax, reshape, flatten, transpose, concat, depth_to_space, space_to_depth, global pools, identity)")
      }
    }
  }
}
