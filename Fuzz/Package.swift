// swift-tools-version:6.2
import PackageDescription

/// The libFuzzer targets of ContactVerify, kept in a package of their own so that the normal
/// `swift build` never compiles them: they have no `main` of their own and link only when
/// built with `--sanitize=fuzzer`, which supplies libFuzzer's. `scripts/fuzz` builds and runs
/// them (docs/reliability.md, "Fuzzing").
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// A fuzz target has no top-level code: libFuzzer's `main` calls `LLVMFuzzerTestOneInput`.
let fuzzTargetSettings = swiftSettings + [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "contact-verify-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "contact-verify", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzEmail",
            dependencies: ["FuzzSupport", .product(name: "ContactVerifyCore", package: "contact-verify")],
            swiftSettings: fuzzTargetSettings
        ),
        .executableTarget(
            name: "FuzzPhone",
            dependencies: ["FuzzSupport", .product(name: "ContactVerifyCore", package: "contact-verify")],
            swiftSettings: fuzzTargetSettings
        ),
        .executableTarget(
            name: "FuzzJSON",
            dependencies: ["FuzzSupport", .product(name: "ContactVerifyCore", package: "contact-verify")],
            swiftSettings: fuzzTargetSettings
        ),
        .executableTarget(
            name: "FuzzHeaders",
            dependencies: [
                "FuzzSupport",
                .product(name: "ContactVerifyCore", package: "contact-verify"),
                .product(name: "ContactVerifyDelivery", package: "contact-verify"),
            ],
            swiftSettings: fuzzTargetSettings
        ),
    ]
)
