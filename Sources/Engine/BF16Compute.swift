import Foundation
import LinearAlgebra

/// Whether --compute-dtype bf16 can run natively: without AVX512-BF16 oneDNN would emulate bf16
/// slowly, so the model runs float32 instead and the user is told once per process.
public enum BF16Compute {
    nonisolated(unsafe) private static var warned = false
    private static let lock = NSLock()

    static func available() -> Bool {
        if BF16Matmul.isSupported { return true }
        lock.lock()
        defer { lock.unlock() }
        if !warned {
            warned = true
            FileHandle.standardError.write(Data("forgetlens: this CPU has no AVX512-BF16; --compute-dtype bf16 runs in fp32\n".utf8))
        }
        return false
    }
}

