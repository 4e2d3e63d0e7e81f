/// A LAPACK routine reported failure. `info` is LAPACK's own code, kept for diagnosis.
public struct LinearAlgebraError: Error, CustomStringConvertible, Sendable {
    public let routine: String
    public let info: Int32
    public let detail: String

    public var description: String {
        "\(routine) failed (LAPACK info = \(info)): \(detail)"
    }
}
