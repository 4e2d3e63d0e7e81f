import Checkpoints
import Engine
import Foundation
import LinearAlgebra
import TestSupport
import XCTest
@testable import Spectra

/// Quantization-error spectra (issue 11) against an independent route: E from bitsandbytes' own
/// saved NF4 checkpoint of the same base (its quantization, dequantized as Linear4bit computes),
/// singular values by LAPACK on the formed matrix.
final class QuantizationErrorTests: XCTestCase {
    func testSpectraOfEMatchBitsandbytesCheckpoint() throws {
        let base = try ModelDirectory(path: Fixtures.model("llama-tiny"))
        let saved = try ModelDirectory(path: Fixtures.model("llama-tiny-nf4-dq"))
        let adapter = try LoRAAdapter(path: Fixtures.model("lora-llama-r8"), base: base.tensors)
        var options = SpectraOptions()
        options.subspaceK = 8
        let report = try QuantizationError.run(base: base, settings: .qlora, adapter: adapter, options: options)
        XCTAssertEqual(report.quantization, "nf4+dq/b64/bf16")
        XCTAssertEqual(report.tensors.count, 14)  // 7 projections x 2 layers; no embedding, norm or head
        for t in report.tensors {
            XCTAssertEqual(t.kind, .quantization)
            let w = try base.tensors.floats(t.name)
            let deq = try FourBitCheckpoint.read(t.name, store: saved.tensors).dequantized(compute: .bf16)
            var e = (0..<w.count).map { Double(deq[$0]) - Double(w[$0]) }
            let frob = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
            XCTAssertEqual(t.frobeniusNorm, frob, accuracy: 1e-9 * frob, t.name)
            var single = e.map { Float($0) }
            let s = try SVD.singularValues(float: &single, rows: t.shape[0], cols: t.shape[1])
            XCTAssertEqual(t.singularValues.count, s.count)
            for (a, b) in zip(t.singularValues, s) { XCTAssertEqual(a, Double(b), accuracy: 1e-5 * Double(s[0]), t.name) }
            // ||E + Delta|| / ||E|| with Delta = s B A formed from the adapter's factors
            let module = adapter.modules.first { $0.baseTensor == t.name }!
            let delta = try LowRankFactors.load(module, adapter: adapter).dense()
            for i in e.indices { e[i] += delta.storage[i] }
            let ratio = e.reduce(0) { $0 + $1 * $1 }.squareRoot() / frob
            XCTAssertEqual(try XCTUnwrap(t.adapterErrorRatio), ratio, accuracy: 1e-9 * ratio, t.name)
            let phi = try XCTUnwrap(t.subspaceSimilarity?.phi)
            XCTAssertEqual(phi.count, module.rank)
            XCTAssertTrue(phi.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 <= 1 + 1e-9 } })
        }
    }
}
