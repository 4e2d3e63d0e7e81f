// swift-tools-version:6.0
// forgetlens: what a fine-tune cost and what it bought.
// Layers (see ARCHITECTURE.md): CLI -> Spectra -> Checkpoints -> LinearAlgebra -> COpenBLAS, COneDNN;
// Tokenizers -> JSONReader, Checkpoints -> JSONReader (the one JSON parser, importing nothing).
// An arrow means "may import".
import PackageDescription


let package = Package(
    name: "forgetlens",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "forgetlens", targets: ["forgetlens"]),
        .library(name: "ForgetlensKit", targets: ["JSONReader", "Spectra", "Checkpoints", "Tokenizers", "Engine", "Evaluation", "Experiments", "Reports"]),
        // the engine alone (bench/engine's engine-bench): builds without GRDB, Yams and the layers above
        .library(name: "ForgetlensEngine", targets: ["Engine", "LinearAlgebra"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "COneDNN", path: "Sources/COneDNN"),
        .target(name: "CSandbox"),
        .target(name: "JSONReader"),
        .target(name: "RegexDeadline"),
        .target(name: "LinearAlgebra", dependencies: ["COpenBLAS", "COneDNN"]),
        .target(name: "Checkpoints", dependencies: ["LinearAlgebra", "JSONReader", "RegexDeadline"]),
        .target(name: "Spectra", dependencies: ["Checkpoints", "LinearAlgebra"]),
        .target(name: "Tokenizers", dependencies: ["JSONReader", "RegexDeadline"]),
        .target(name: "Engine", dependencies: ["Checkpoints", "LinearAlgebra", "Tokenizers"]),
        .target(name: "Evaluation", dependencies: [
            "Engine", "Tokenizers", "Checkpoints", "JSONReader", "CSandbox", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Reports", dependencies: []),
        .target(name: "Experiments", dependencies: [
            "Evaluation", "Engine", "Spectra", "Checkpoints", "Reports", .product(name: "Yams", package: "Yams"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "ForgetlensCLI", dependencies: [
            "Spectra", "Checkpoints", "Tokenizers", "Engine", "Evaluation", "Experiments", "Reports", "JSONReader",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "forgetlens", dependencies: ["ForgetlensCLI", "LinearAlgebra"]),
        .target(name: "FuzzSupport", path: "Sources/Fuzz/FuzzSupport"),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "JSONReaderTests", dependencies: ["JSONReader"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Engine", "TestSupport"]),
        .testTarget(name: "SpectraTests", dependencies: ["Spectra", "Checkpoints", "Engine", "LinearAlgebra", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "RegexDeadline", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Checkpoints", "Tokenizers", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: [
            "Evaluation", "Engine", "Tokenizers", "TestSupport", .product(name: "Yams", package: "Yams"),
        ]),
        .testTarget(name: "ExperimentsTests", dependencies: [
            "Experiments", "Reports", "Evaluation", "Checkpoints", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "CLITests", dependencies: ["ForgetlensCLI", "forgetlens", "TestSupport"]),
    ]
)

// One fuzz target per parser that reads outside bytes (Sources/Fuzz/<name>/main.swift). `make fuzz`
// and `make fuzz-smoke` build them with libFuzzer and AddressSanitizer; a plain build replays the
// files it is given (the committed corpus and crash inputs run that way in the tests).
let fuzzTargets: [(String, [Target.Dependency])] = [
    ("safetensors", ["Checkpoints"]), ("shard-index", ["Checkpoints"]), ("config", ["Engine"]),
    ("adapter", ["Checkpoints"]), ("tokenizer", ["Tokenizers"]), ("encode", ["Tokenizers"]),
    ("task", ["Evaluation"]), ("template", ["Evaluation"]), ("json", ["JSONReader", "Evaluation"]),
    ("response", ["Evaluation"]), ("experiment", ["Experiments"]), ("store", ["Experiments"]),
    ("quant-state", ["Checkpoints"]),
]
package.targets += fuzzTargets.map { name, dependencies in
    .executableTarget(name: "fuzz-\(name)", dependencies: dependencies + ["FuzzSupport"], path: "Sources/Fuzz/\(name)")
}
