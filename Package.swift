// swift-tools-version:6.0
// MoeKit: Chainer/ONNX checkpoints → one graph IR → native, ONNX, browser runtimes.
import PackageDescription

let package = Package(
  name: "MoeKit",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "moe", targets: ["moe"]),
    .library(name: "MoeIR", targets: ["MoeIR"]),
    .library(name: "MoeFormats", targets: ["MoeFormats"]),
    .library(name: "MoeRuntime", targets: ["MoeRuntime"]),
    .library(name: "MoeModels", targets: ["MoeModels"]),
    .library(name: "MoePasses", targets: ["MoePasses"]),
    .library(name: "MoeQuant", targets: ["MoeQuant"]),
    .library(name: "MoeVerify", targets: ["MoeVerify"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
  ],
  targets: [
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                   providers: [.apt(["libhdf5-dev"])]),
    .target(name: "MoeHDF5Shim", dependencies: ["CHDF5"], path: "Sources/MoeHDF5Shim"),
    .systemLibrary(name: "CProtobufC", path: "Sources/CProtobufC", pkgConfig: "libprotobuf-c",
                   providers: [.apt(["libprotobuf-c-dev"])]),
    .target(name: "CONNX", dependencies: ["CProtobufC"], path: "Sources/CONNX", exclude: ["regenerate.sh"]),
    .target(name: "MoeIR"),
    .target(name: "MoeFormats", dependencies: ["MoeIR", "MoeQuant", "MoeKernels", "MoeHDF5Shim", "CONNX",
                                               .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                                               .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "MoeRuntime", dependencies: ["MoeIR", "CBLAS"]),
    .target(name: "MoeModels", dependencies: ["MoeIR", "MoeFormats", "MoeQuant"]),
    .systemLibrary(name: "CMoeZlib", path: "Sources/CMoeZlib"),
    // MoeQuant runs models (calibration, the auto quantizer) but never links the web stack (MoeSite, FlyingFox).
    .target(name: "MoeQuant", dependencies: ["MoeIR", "MoeKernels", "MoeRuntime", "CMoeZlib"]),
    .target(name: "MoePasses", dependencies: ["MoeIR"]),
    .target(name: "MoeKernels"),
    .target(name: "MoeSite", dependencies: ["MoeFormats", .product(name: "FlyingFox", package: "FlyingFox")]),
    .target(name: "MoeVerify", dependencies: ["MoeIR", "MoeRuntime", "MoeQuant", "MoeModels", "MoeFormats", "MoeSite"]),
    .executableTarget(name: "moe", dependencies: [
      "MoeIR", "MoeFormats", "MoeRuntime", "MoeModels", "MoePasses", "MoeQuant", "MoeVerify", "MoeSite",
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]),
    .target(name: "MoeTestSupport", dependencies: ["MoeSite"], path: "Tests/MoeTestSupport"),
    .testTarget(name: "MoeIRTests", dependencies: ["MoeIR"]),
    .testTarget(name: "MoeFormatsTests", dependencies: ["MoeFormats", "MoeQuant", "MoeIR", "MoeRuntime", "MoeTestSupport"]),
    .testTarget(name: "MoeRuntimeTests", dependencies: ["MoeRuntime", "MoeIR", "MoeTestSupport"]),
    .testTarget(name: "MoeModelsTests", dependencies: ["MoeModels", "MoeRuntime", "MoeFormats", "MoeQuant", "MoeIR", "MoeTestSupport"]),
    .testTarget(name: "MoePassesTests", dependencies: ["MoePasses", "MoeModels", "MoeRuntime", "MoeIR"]),
    .testTarget(name: "MoeCLITests", dependencies: ["MoeFormats", "MoeModels", "MoeSite", "MoeIR", "MoeTestSupport"]),
    .testTarget(name: "MoeQuantTests", dependencies: ["MoeQuant", "MoeKernels", "MoeIR", "MoeModels", "MoePasses", "MoeTestSupport"]),
    .testTarget(name: "MoeVerifyTests", dependencies: ["MoeVerify", "MoeModels", "MoePasses", "MoeQuant", "MoeIR"]),
    .testTarget(name: "MoeKernelsTests", dependencies: ["MoeKernels", "MoeRuntime", "MoeIR", "MoeTestSupport"]),
  ],
  swiftLanguageModes: [.v5]
)
