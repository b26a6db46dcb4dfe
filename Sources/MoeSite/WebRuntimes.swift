// WebRuntimes: run a bundle through exactly the exported site's files, in node (`wasm`) or headless Chromium (`browser`).
import Foundation
import MoeFormats
import MoeIR

/// Runs bundles with the web runtime.
public enum WebRuntimes {
  /// Runs `bundle` in node with `run-node.mjs` on the exported site's moe.js and kernels.wasm.
  public static func runNode(bundle: URL, inputs: [String: Tensor]) throws -> (outputs: [String: Tensor], ms: Double) {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("moe-node-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: work) }
    try WebAssets.exportSite(bundle: bundle, to: work)
    let runner = try WebAssets.directory().appendingPathComponent("run-node.mjs")
    try AtomicFile.write(try Data(contentsOf: runner), to: work.appendingPathComponent("run-node.mjs"))
    let outDir = work.appendingPathComponent("out")
    var args = [work.appendingPathComponent("run-node.mjs").path, work.appendingPathComponent("model.moe").path, outDir.path]
    for (name, t) in inputs {
      let f = work.appendingPathComponent("in-\(name.replacingOccurrences(of: "/", with: "_")).npy")
      try Npy.write(NpyArray(floats: t.data, shape: t.shape), to: f)
      args.append("\(name)=\(f.path)")
    }
    let r = try Subprocess.run(program: "node", args)
    guard r.status == 0 else { throw SiteError("node runtime failed: " + r.errorText) }
    let stdout = r.stdout
    let info = (try? JSONSerialization.jsonObject(with: stdout.split(separator: UInt8(ascii: "\n")).last.map { Data($0) } ?? Data())) as? [String: Any]
    var outputs: [String: Tensor] = [:]
    for f in try FileManager.default.contentsOfDirectory(atPath: outDir.path) where f.hasSuffix(".npy") {
      let a = try Npy.read(outDir.appendingPathComponent(f))
      let encoded = String(f.dropLast(4))
      outputs[encoded.removingPercentEncoding ?? encoded] = Tensor(shape: a.shape, data: try a.floats())
    }
    return (outputs, info?["ms"] as? Double ?? .nan)
  }

  /// Runs `bundle` in headless Chromium: exports the site, serves it on 127.0.0.1, loads `runner.html`.
  /// With `screenshot`, also opens the page itself, generates once, and writes a PNG of it. With `benchRuns`, `bench` is
  /// runner.js's result (`msPerImage` with the default threads, `threads`, `backend`, `singleThreadMsPerImage`).
  public static func runBrowser(bundle: URL, inputs: [String: Tensor], screenshot: URL? = nil, benchRuns: Int = 0) async throws
    -> (outputs: [String: Tensor], ms: Double, benchMsPerImage: Double?, bench: [String: Any]?)
  {
    let site = FileManager.default.temporaryDirectory.appendingPathComponent("moe-site-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: site) }
    try WebAssets.exportSite(bundle: bundle, to: site)
    try FileManager.default.createDirectory(at: site.appendingPathComponent("inputs"), withIntermediateDirectories: true)
    var spec: [String: Any] = ["model": "model.moe"]
    var inputURLs: [String: String] = [:]
    for (i, (name, t)) in inputs.enumerated() {
      try Npy.write(NpyArray(floats: t.data, shape: t.shape), to: site.appendingPathComponent("inputs/\(i).npy"))
      inputURLs[name] = "inputs/\(i).npy"
    }
    spec["inputs"] = inputURLs
    let server = try StaticServer(root: site, port: 0)
    let port = try await server.start()
    let driver = try WebDriver()
    defer { driver.quit() }
    try driver.navigate("http://127.0.0.1:\(port)/runner.html")
    let script = """
      const done = arguments[arguments.length - 1];
      (async () => {
        for (let i = 0; i < 400 && !window.moeRunner; i++) await new Promise(r => setTimeout(r, 50));
        if (!window.moeRunner) throw new Error('runner.html did not define window.moeRunner');
        const r = await window.moeRunner.run(arguments[0]);
        if (arguments[1] > 0) r.bench = await window.moeRunner.bench(arguments[0], arguments[1]);
        return JSON.stringify(r);
      })().then(done, e => done(JSON.stringify({error: String(e && e.message || e)})));
      """
    let raw = try driver.executeAsync(script, args: [spec, benchRuns])
    guard let text = raw as? String, let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
      throw SiteError("browser runtime returned no result")
    }
    if let e = obj["error"] as? String { throw SiteError("browser runtime failed: \(e)") }
    var outputs: [String: Tensor] = [:]
    for (name, v) in obj["outputs"] as? [String: Any] ?? [:] {
      guard let o = v as? [String: Any], let shape = o["shape"] as? [Int], let b64 = o["base64"] as? String, let data = Data(base64Encoded: b64)
      else { throw SiteError("browser runtime returned a malformed output '\(name)'") }
      let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      guard floats.count == elementCount(shape) else { throw SiteError("browser output '\(name)': \(floats.count) values for shape \(shape)") }
      outputs[name] = Tensor(shape: shape, data: floats)
    }
    let benchInfo = obj["bench"] as? [String: Any]
    let bench = benchInfo?["msPerImage"] as? Double
    if let screenshot {
      try driver.navigate("http://127.0.0.1:\(port)/index.html")
      let shot = """
        const done = arguments[arguments.length - 1];
        (async () => {
          for (let i = 0; i < 400 && !window.moeApp; i++) await new Promise(r => setTimeout(r, 50));
          await window.moeApp.ready;
          await window.moeApp.firstFace; // the face the page shows on load must finish first (one run at a time)
          await window.moeApp.generate(window.moeApp.getSettings());
          await new Promise(r => setTimeout(r, 300));
          return 'ok';
        })().then(done, e => done('error: ' + (e && e.message || e)));
        """
      let r = try driver.executeAsync(shot) as? String ?? ""
      if r != "ok" { throw SiteError("page did not generate: \(r)") }
      try AtomicFile.write(try driver.screenshot(), to: screenshot)
    }
    await server.stop()
    return (outputs, obj["ms"] as? Double ?? .nan, bench, benchInfo)
  }

  /// Opens the exported site's page in headless Chromium, sets `settings` (the page's settings JSON, e.g. chosen
  /// tags), generates once through `window.moeApp`, and returns the input vector and the image the page computed,
  /// plus a screenshot PNG of the page.
  public static func generateOnPage(bundle: URL, settings: [String: Any]) async throws -> (z: Tensor, img: Tensor, screenshot: Data) {
    let site = FileManager.default.temporaryDirectory.appendingPathComponent("moe-page-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: site) }
    try WebAssets.exportSite(bundle: bundle, to: site)
    let server = try StaticServer(root: site, port: 0)
    let port = try await server.start()
    let result = try generateOnPage(url: "http://127.0.0.1:\(port)/index.html", settings: settings)
    await server.stop()
    return result
  }

  /// The same for a page already served at `url` (e.g. by `moe serve`).
  public static func generateOnPage(url: String, settings: [String: Any]) throws -> (z: Tensor, img: Tensor, screenshot: Data) {
    let driver = try WebDriver()
    defer { driver.quit() }
    try driver.navigate(url)
    let script = """
      const done = arguments[arguments.length - 1];
      const b64 = (f) => { const u = new Uint8Array(f.buffer, f.byteOffset, f.byteLength); let s = '';
        for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192)); return btoa(s); };
      (async () => {
        for (let i = 0; i < 400 && !window.moeApp; i++) await new Promise(r => setTimeout(r, 50));
        if (!window.moeApp) throw new Error('index.html did not define window.moeApp');
        await window.moeApp.ready;
        await window.moeApp.firstFace; // the face the page shows on load comes first
        window.moeApp.setSettings(Object.assign(window.moeApp.getSettings(), arguments[0]));
        const r = await window.moeApp.generate(window.moeApp.getSettings());
        await new Promise(r => setTimeout(r, 300));
        return JSON.stringify({z: b64(r.z), zShape: [1, r.z.length], img: b64(r.img.data), imgShape: r.img.shape, ms: r.ms});
      })().then(done, e => done(JSON.stringify({error: String(e && e.message || e)})));
      """
    guard let text = try driver.executeAsync(script, args: [settings]) as? String,
      let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    else { throw SiteError("the page returned no result") }
    if let e = obj["error"] as? String { throw SiteError("the page failed: \(e)") }
    func tensor(_ key: String, _ shapeKey: String) throws -> Tensor {
      guard let b = obj[key] as? String, let d = Data(base64Encoded: b), let shape = obj[shapeKey] as? [Int] else {
        throw SiteError("the page returned no '\(key)'")
      }
      let f = d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      guard f.count == elementCount(shape) else { throw SiteError("page '\(key)': \(f.count) values for \(shape)") }
      return Tensor(shape: shape, data: f)
    }
    return (try tensor("z", "zShape"), try tensor("img", "imgShape"), try driver.screenshot())
  }
}
