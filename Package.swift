// swift-tools-version:6.2
import PackageDescription

/// One settings array for every Swift target: Swift 6 language mode is the package default;
/// these upcoming features keep imports and existentials explicit, as Hummingbird does.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Tests read better without spelling out the module of every HTTP type.
let testSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "contact-verify",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "contact-verify", targets: ["contact-verify"]),
        // For the fuzz targets of Fuzz/Package.swift, a separate package so that libFuzzer
        // never touches this build (docs/reliability.md, "Fuzzing").
        .library(name: "ContactVerifyCore", targets: ["ContactVerifyCore"]),
        .library(name: "ContactVerifyDelivery", targets: ["ContactVerifyDelivery"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // C and C++ libraries from Debian's -dev packages
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        .systemLibrary(name: "CIDN2", pkgConfig: "libidn2", providers: [.apt(["libidn2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(
            name: "CPhoneNumber",
            linkerSettings: [.linkedLibrary("phonenumber")]
        ),

        // Swift modules: CLI → API → {Store, Delivery} → Core
        .target(
            name: "ContactVerifyCore",
            dependencies: [
                "CArgon2", "CIDN2", "CPhoneNumber",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ContactVerifyStore",
            dependencies: [
                "ContactVerifyCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ContactVerifyDelivery",
            dependencies: [
                "CCurl", "ContactVerifyCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ContactVerifyAPI",
            dependencies: [
                "ContactVerifyCore", "ContactVerifyDelivery", "ContactVerifyStore",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "contact-verify",
            dependencies: [
                "ContactVerifyAPI", "ContactVerifyCore", "ContactVerifyDelivery", "ContactVerifyStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // test targets
        .target(
            name: "TestServers",
            path: "Tests/TestServers",
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "ContactVerifyCoreTests",
            dependencies: ["ContactVerifyCore", "TestServers"],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "ContactVerifyStoreTests",
            dependencies: [
                "ContactVerifyStore", "ContactVerifyCore", "TestServers", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "ContactVerifyDeliveryTests",
            dependencies: [
                "ContactVerifyDelivery", "ContactVerifyCore", "TestServers",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "ContactVerifyAPITests",
            dependencies: [
                "ContactVerifyAPI", "ContactVerifyCore", "ContactVerifyDelivery", "ContactVerifyStore", "TestServers",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: testSwiftSettings
        ),
        .testTarget(
            name: "BlackBoxTests",
            dependencies: ["ContactVerifyCore", "TestServers"],
            swiftSettings: testSwiftSettings
        ),
    ],
    cxxLanguageStandard: .cxx17
)
