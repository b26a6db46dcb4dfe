// swift-tools-version:6.0
// MoeKit fuzz targets: libFuzzer harnesses for every file reader, built only by `make fuzz` (swift build --sanitize=fuzzer).
import PackageDescription

/// One libFuzzer executable per reader; `-parse-as-library` because libFuzzer supplies `main`.
func fuzzTarget(_ name: String, _ deps: [Target.Dependency]) -> Target {
  .executableTarget(name: name, dependencies: deps + ["FuzzSupport"], path: "Sources/\(name)",
                    swiftSettings: [.unsafeFlags(["-parse-as-library"])])
}

let moe = "MoeKit"
let package = Package(
  name: "MoeKitFuzz",
  dependencies: [.package(name: moe, path: "..")],
  targets: [
    .target(name: "FuzzSupport", path: "Sources/FuzzSupport"),
    fuzzTarget("FuzzNPY", [.product(name: "MoeFormats", package: moe)]),
    fuzzTarget("FuzzNPZ", [.product(name: "MoeFormats", package: moe)]),
    fuzzTarget("FuzzHDF5", [.product(name: "MoeFormats", package: moe)]),
    fuzzTarget("FuzzONNX", [.product(name: "MoeFormats", package: moe), .product(name: "MoeIR", package: moe)]),
    fuzzTarget("FuzzBundle", [.product(name: "MoeFormats", package: moe)]),
    fuzzTarget("FuzzIRText", [.product(name: "MoeIR", package: moe)]),
  ],
  swiftLanguageModes: [.v5]
)
