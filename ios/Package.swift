// swift-tools-version:5.9
// The CairnCore Swift package: the Rust core as an XCFramework plus the Swift bindings generated
// from it. Run ./build-xcframework.sh first; it creates both (they are build outputs, not in git).
import PackageDescription

let package = Package(
    name: "CairnCore",
    platforms: [.iOS(.v17)],
    products: [
        .library(name: "CairnCore", targets: ["CairnCore"])
    ],
    targets: [
        // libcairn_ffi.a for devices and simulators, with the C headers and the module map that
        // declares CairnCoreFFI and CairnCoreModelFFI.
        .binaryTarget(name: "CairnFFI", path: "CairnFFI.xcframework"),
        // Every generated .swift file (CairnCore.swift, CairnCoreModel.swift) in one module, so
        // the app writes `import CairnCore` and sees the store and all its records.
        .target(
            name: "CairnCore",
            dependencies: ["CairnFFI"],
            path: "Sources/CairnCore",
            linkerSettings: [
                // SQLCipher on Apple platforms uses CommonCrypto and Security's random source.
                .linkedFramework("Security")
            ]
        ),
    ]
)
