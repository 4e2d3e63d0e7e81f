import Checkpoints
import Engine
import Foundation
import Spectra
import TestSupport
import XCTest

/// Phi-3's fused qkv_proj and gate_up_proj are reported per logical part (q, k, v; gate, up), each
/// against float64 numpy SVDs of its rows of scaling * B @ A (scripts/fixtures/make_family_fixtures.py).
final class FusedSplitTests: XCTestCase {
    func testFusedLoRAIsSplitIntoItsParts() throws {
        let doc = try Fixtures.json(Fixtures.reference("families").appendingPathComponent("spectra_split__lora-phi3.json")) as! [String: Any]
        let expected = doc["tensors"] as! [String: [Double]]
        let base = try ModelDirectory(path: Fixtures.model("phi3-tiny"))
        let adapter = try LoRAAdapter(path: Fixtures.model("lora-phi3"), base: base.tensors)
        let report = try SpectraRun(source: .adapter(base: base, adapter: adapter), options: SpectraOptions()).run()
        let got = Dictionary(uniqueKeysWithValues: report.tensors.map { ($0.name, $0) })
        // every part reported, no fused tensor left whole; o_proj and down_proj as before
        for name in expected.keys { XCTAssertNotNil(got[name], "missing \(name)") }
        XCTAssertFalse(got.keys.contains { $0.hasSuffix("qkv_proj.weight") || $0.hasSuffix("gate_up_proj.weight") })
        XCTAssertNotNil(got["model.layers.0.self_attn.o_proj.weight"])
        let q = got["model.layers.0.self_attn.qkv_proj.q.weight"]!, k = got["model.layers.0.self_attn.qkv_proj.k.weight"]!
        XCTAssertEqual(q.shape, [64, 64])
        XCTAssertEqual(k.shape, [32, 64])
        for (name, s) in expected {
            guard let t = got[name] else { continue }
            for (i, sigma) in s.enumerated() {
                let ours = i < t.singularValues.count ? t.singularValues[i] : 0
                XCTAssertEqual(ours, sigma, accuracy: max(1e-6 * sigma, 1e-9 * s[0] + 1e-12), "\(name) sigma_\(i)")
            }
        }
    }
}
