import Checkpoints
import Foundation
import Spectra
import TestSupport
import XCTest

/// W_base, W_ft, G and W_base + G spectra against numpy (scripts/fixtures/make_weight_spectra_reference.py:
/// float64 SVDs, the same SplitMix64 + Box-Muller Gaussian).
final class WeightSpectraReferenceTests: XCTestCase {
    func reference() throws -> [[String: Any]] {
        let doc = try Fixtures.json(Fixtures.reference("weight_spectra").appendingPathComponent("reference.json")) as! [String: Any]
        return doc["weights"] as! [[String: Any]]
    }

    func testWeightSpectraMatchNumpy() throws {
        let base = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let entries = try reference()
        XCTAssertEqual(entries.count, 4)
        for method in SVDMethod.allCases {
            var options = SpectraOptions()
            options.method = method
            let analyzer = SpectraAnalyzer(options: options)
            // gesdd is float32: a looser bound
            let tolerance = method == .gram ? 1.0 : 300.0
            for e in entries {
                let variant = e["variant"] as! String, name = e["name"] as! String
                let source: PerturbationSource = e["kind"] as! String == "full"
                    ? .finetuned(base: base, finetuned: try ModelDirectory(path: Fixtures.model(variant)))
                    : .adapter(base: base, adapter: try LoRAAdapter(path: Fixtures.model(variant), base: base.tensors))
                let p = try XCTUnwrap(try source.perturbations(matching: { $0 == name }).perturbations.first)
                let w = try analyzer.weightSpectra(p, base: base, gaussianSeed: UInt64(e["seed"] as! Int))
                let label = "\(variant) \(name) \(method)"
                func close(_ got: [Double], _ key: String) {
                    let want = e[key] as! [Double]
                    XCTAssertEqual(got.count, want.count, label + " " + key)
                    for (i, (a, b)) in zip(got, want).enumerated() {
                        let bound = (b >= 1e-3 * want[0] ? 1e-6 * b : 1e-6 * want[0]) * tolerance
                        XCTAssertEqual(a, b, accuracy: bound, "\(label) \(key) sigma_\(i)")
                    }
                }
                close(w.base, "base")
                close(w.finetuned, "finetuned")
                close(try XCTUnwrap(w.gaussian), "gaussian")
                close(try XCTUnwrap(w.basePlusGaussian), "base_plus_gaussian")
                if method == .gram {
                    // a LoRA's Delta reports its r non-trivial values; numpy's tail is zero
                    let got = try analyzer.analyze(p, base: base).singularValues, want = e["delta"] as! [Double]
                    for (i, (a, b)) in zip(got, want).enumerated() { XCTAssertEqual(a, b, accuracy: 1e-6 * max(b, 1e-3 * want[0]), "\(label) delta sigma_\(i)") }
                    for b in want.dropFirst(got.count) { XCTAssertLessThan(b, 1e-9 * want[0], label) }
                }
            }
        }
    }

    func testGaussianIsSeededAndScaledToDeltasNorm() throws {
        let a = GaussianMatrix.sample(rows: 5, cols: 7, seed: 1), b = GaussianMatrix.sample(rows: 5, cols: 7, seed: 1)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, GaussianMatrix.sample(rows: 5, cols: 7, seed: 2))
        let big = GaussianMatrix.sample(rows: 200, cols: 200, seed: 7).storage
        let mean = big.reduce(0, +) / Double(big.count), variance = big.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(big.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
        // ||G||_F = ||Delta||_F: the squared singular values of G sum to Delta's
        let base = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let source = PerturbationSource.finetuned(base: base, finetuned: try ModelDirectory(path: Fixtures.model("llama-tiny-ft-fp16")))
        let p = try source.perturbations().perturbations.first { $0.name.hasSuffix("q_proj.weight") }!
        let analyzer = SpectraAnalyzer()
        let w = try analyzer.weightSpectra(p, base: base, gaussianSeed: 3)
        let delta = try analyzer.analyze(p, base: base)
        XCTAssertEqual(w.gaussian!.reduce(0) { $0 + $1 * $1 }.squareRoot(), delta.frobeniusNorm, accuracy: 1e-9 * delta.frobeniusNorm)
        XCTAssertNil(try analyzer.weightSpectra(p, base: base).gaussian)
    }
}
