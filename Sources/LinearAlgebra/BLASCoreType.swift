import COpenBLAS
import Foundation

/// OpenBLAS picks its kernels once, when the library loads, from the CPU model number. Debian's
/// 0.3.21 does not know recent Intel models (seen: family 6 model 207, an AVX-512 + AMX Xeon) and
/// falls back to "Prescott" (SSE3) kernels: sgemm ran at 44 GFLOP/s instead of ~150 on 2 threads,
/// so the whole engine and every SVD were 3-4x slower. The choice can only be corrected through
/// the OPENBLAS_CORETYPE environment variable, read at load time, so the executable re-executes
/// itself once with it set. A user's own OPENBLAS_CORETYPE is always kept.
public enum BLASCoreType {
    /// OpenBLAS core names whose kernels use neither AVX2 nor FMA.
    static let preAVX2Cores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                            "katmai", "coppermine", "northwood", "banias", "sandybridge", "unknown"]

    /// The kernel set the CPU supports, from /proc/cpuinfo's flags (nil: keep OpenBLAS's choice).
    static func supportedCore(flags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The core OpenBLAS should use instead of the one it picked, or nil when its choice is fine.
    public static func correction(detected: String, cpuFlags: Set<String>) -> String? {
        guard preAVX2Cores.contains(detected.lowercased()) else { return nil }
        return supportedCore(flags: cpuFlags)
    }

    /// Re-executes the running program with OPENBLAS_CORETYPE set when OpenBLAS picked kernels
    /// below what the CPU supports; returns (doing nothing) in every other case, including any
    /// failure to re-execute.
    public static func reexecIfMisdetected() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["FORGETLENS_BLAS_REEXEC"] == nil,
              let name = openblas_get_corename().map({ String(cString: $0) }),
              let flagsLine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
                .split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let core = correction(detected: name, cpuFlags: Set(flagsLine.split(separator: " ").map(String.init)))
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("FORGETLENS_BLAS_REEXEC", "1", 1)  // never loop, whatever OpenBLAS does with it
        let args = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // execv returned: it failed; carry on with OpenBLAS's own choice.
        for p in argv { free(p) }
        unsetenv("OPENBLAS_CORETYPE"); unsetenv("FORGETLENS_BLAS_REEXEC")
    }
}
