// swift-tools-version:6.2
import PackageDescription

/// The yardstick of P2 (docs/performance.md): Hummingbird's hello-world JSON endpoint, built
/// like the service (release, same Hummingbird release) and measured with the same wrk run.
/// scripts/bench builds it with `--scratch-path .build-bench-hello`.
let package = Package(
    name: "bench-hello",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
    ],
    targets: [
        .executableTarget(
            name: "bench-hello",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Sources/hello"
        ),
    ]
)
