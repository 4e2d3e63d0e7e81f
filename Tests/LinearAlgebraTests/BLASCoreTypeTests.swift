import LinearAlgebra
import XCTest

/// OpenBLAS 0.3.21 falls back to SSE3 "Prescott" kernels on CPU models it does not know; the
/// executable then re-executes itself with OPENBLAS_CORETYPE set to what the CPU supports.
final class BLASCoreTypeTests: XCTestCase {
    let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_bf16"]

    func testAFallbackCoreOnAnAVX512CPUBecomesSkylakeX() {
        XCTAssertEqual(BLASCoreType.correction(detected: "Prescott", cpuFlags: avx512), "SkylakeX")
        XCTAssertEqual(BLASCoreType.correction(detected: "Nehalem", cpuFlags: avx512), "SkylakeX")
    }

    func testAnAVX2OnlyCPUGetsHaswell() {
        XCTAssertEqual(BLASCoreType.correction(detected: "Prescott", cpuFlags: ["sse3", "avx", "avx2", "fma"]), "Haswell")
    }

    func testARecognisedCoreOrAnOldCPUIsLeftAlone() {
        XCTAssertNil(BLASCoreType.correction(detected: "SkylakeX", cpuFlags: avx512))
        XCTAssertNil(BLASCoreType.correction(detected: "Haswell", cpuFlags: avx512))
        XCTAssertNil(BLASCoreType.correction(detected: "Zen", cpuFlags: avx512))
        XCTAssertNil(BLASCoreType.correction(detected: "Prescott", cpuFlags: ["sse3", "avx"]))
    }
}
