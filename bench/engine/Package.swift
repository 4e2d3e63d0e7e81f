// swift-tools-version:6.0
// The engine benchmark executable (bench/engine/run.sh builds it with -c release).
import PackageDescription

let package = Package(
    name: "engine-bench",
    dependencies: [.package(name: "forgetlens", path: "../..")],
    targets: [
        .executableTarget(name: "engine-bench", dependencies: [.product(name: "ForgetlensEngine", package: "forgetlens")]),
    ]
)
