import Foundation

/// A number with its standard error (nil when it cannot be estimated, e.g. one item).
public struct Estimate: Codable, Sendable, Equatable {
    public var value: Double
    public var stderr: Double?

    public init(_ value: Double, stderr: Double?) {
        self.value = value
        self.stderr = stderr
    }

    /// The mean of k independent per-task means: value = mean, se = sqrt(sum se_i^2) / k.
    /// A missing stderr in any part makes the whole stderr missing.
    public static func meanOfMeans(_ parts: [Estimate]) -> Estimate? {
        guard !parts.isEmpty else { return nil }
        let k = Double(parts.count)
        let value = parts.reduce(0) { $0 + $1.value } / k
        let ses = parts.compactMap(\.stderr)
        let se = ses.count == parts.count ? (ses.reduce(0) { $0 + $1 * $1 }).squareRoot() / k : nil
        return Estimate(value, stderr: se)
    }

    /// a - b for independent estimates (se added in quadrature).
    public static func difference(_ a: Estimate, _ b: Estimate) -> Estimate {
        let se: Double? = (a.stderr != nil && b.stderr != nil) ? (a.stderr! * a.stderr! + b.stderr! * b.stderr!).squareRoot() : nil
        return Estimate(a.value - b.value, stderr: se)
    }

    /// "0.412 ± 0.017" (or "0.412" without stderr).
    public func formatted(digits: Int = 3) -> String {
        let v = String(format: "%.\(digits)f", value)
        guard let stderr else { return v }
        return v + " ± " + String(format: "%.\(digits)f", stderr)
    }
}
