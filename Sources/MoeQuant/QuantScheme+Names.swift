// QuantScheme+Names: the table of scheme names the parser reads; help texts and errors print their lists from it.

extension QuantScheme {
  /// One form of scheme name that `init?(name:)` reads, and how it is listed for people.
  public struct NameForm: Sendable {
    /// The name as written, a parameter shown as a placeholder: `int4-g<N>`.
    public var form: String
    /// Other spellings of the same scheme (`float32` for `f32`).
    public var aliases: [String]
    /// The values the placeholder takes, e.g. `N ≥ 1`; nil for a name without parameter.
    public var values: String?
    /// The scheme a name of this form (without axis suffix) stands for; nil when the name is not of this form.
    let parse: @Sendable (String) -> QuantScheme?
  }

  /// The smallest int4 group size.
  static let minimumInt4Group = 1

  /// Every form of scheme name, in the order lists show them. `init?(name:)` reads exactly these (plus `-a<A>`).
  public static let nameForms: [NameForm] = {
    let paletteSizes = "K = " + PaletteCodec.sizes.map(String.init).joined(separator: ", ")
    @Sendable func palette(_ name: String, perChannel: Bool) -> QuantScheme? {
      guard name.hasPrefix("palette") else { return nil }
      var k = name.dropFirst("palette".count)
      if perChannel {
        guard k.hasSuffix("-pc") else { return nil }
        k = k.dropLast(3)
      }
      guard let size = Int(k), PaletteCodec.sizes.contains(size) else { return nil }
      return .palette(k: size, perChannel: perChannel, axis: 0)
    }
    return [
      NameForm(form: "f32", aliases: ["float32"], values: nil) { $0 == "f32" || $0 == "float32" ? .float32 : nil },
      NameForm(form: "f16", aliases: ["float16"], values: nil) { $0 == "f16" || $0 == "float16" ? .float16 : nil },
      NameForm(form: "int8", aliases: [], values: nil) { $0 == "int8" ? .int8(axis: 0) : nil },
      NameForm(form: "int4-g<N>", aliases: [], values: "N ≥ \(minimumInt4Group)") { name in
        guard name.hasPrefix("int4-g"), let g = Int(name.dropFirst("int4-g".count)), g >= minimumInt4Group else { return nil }
        return .int4(axis: 0, groupSize: g)
      },
      NameForm(form: "palette<K>", aliases: [], values: paletteSizes) { palette($0, perChannel: false) },
      NameForm(form: "palette<K>-pc", aliases: [], values: paletteSizes) { palette($0, perChannel: true) },
      NameForm(form: "eightbit", aliases: [], values: nil) { $0 == "eightbit" ? .eightbit : nil },
    ]
  }()

  /// The forms as a list for help texts and errors: `f32 (or float32), …, palette<K>, palette<K>-pc (K = 2, …), eightbit`
  /// (forms sharing a parameter are listed together).
  public static var nameList: String {
    var parts: [String] = []
    var pending: [String] = [], pendingValues: String? = nil
    func flush() {
      guard !pending.isEmpty else { return }
      parts.append(pending.joined(separator: ", ") + (pendingValues.map { " (\($0))" } ?? ""))
      pending = []
    }
    for f in nameForms {
      if f.values == nil || f.values != pendingValues { flush() }
      pendingValues = f.values
      pending.append(f.form + (f.aliases.isEmpty ? "" : " (or \(f.aliases.joined(separator: ", ")))"))
      if f.values == nil { flush() }
    }
    flush()
    return parts.joined(separator: ", ")
  }

  /// Whether the scheme has a channel axis (a name may then carry `-a<A>`).
  var hasChannelAxis: Bool {
    switch self {
    case .int8, .int4, .palette: return true
    case .float32, .float16, .eightbit: return false
    }
  }

  /// The same scheme along channel axis `axis` (schemes without an axis are returned as they are).
  func withAxis(_ axis: Int) -> QuantScheme {
    switch self {
    case .int8: return .int8(axis: axis)
    case let .int4(_, g): return .int4(axis: axis, groupSize: g)
    case let .palette(k, pc, _): return .palette(k: k, perChannel: pc, axis: axis)
    case .float32, .float16, .eightbit: return self
    }
  }
}
