/// Objectives and the non-dominated set.
public struct Objective: Sendable, Equatable, CustomStringConvertible {
    public enum Direction: String, Sendable { case max, min }
    public var name: String
    public var direction: Direction
    public init(_ name: String, _ direction: Direction) {
        self.name = name
        self.direction = direction
    }
    public var description: String { "\(name):\(direction.rawValue)" }

    /// Parses "learning:max,forgetting:min".
    public static func parseList(_ text: String) throws -> [Objective] {
        try text.split(separator: ",").map { part in
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, !pieces[0].isEmpty, let d = Direction(rawValue: pieces[1].lowercased()) else {
                throw ParetoError("objective '\(part)' is not NAME:max or NAME:min")
            }
            return Objective(pieces[0], d)
        }
    }
}

public struct ParetoError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum Pareto {
    /// Indices of the points no other point dominates, in input order. q dominates p when q is
    /// at least as good on every objective and strictly better on one; so equal (duplicate)
    /// points do not dominate each other and all stay on the frontier. NaN never dominates and
    /// a point with a NaN coordinate is never on the frontier.
    public static func frontier(_ points: [[Double]], directions: [Objective.Direction]) -> [Int] {
        let oriented = points.map { p in zip(p, directions).map { $1 == .max ? $0 : -$0 } }
        return oriented.indices.filter { i in
            let p = oriented[i]
            if p.contains(where: \.isNaN) { return false }
            return !oriented.indices.contains { j in
                guard j != i else { return false }
                let q = oriented[j]
                if q.contains(where: \.isNaN) { return false }
                return zip(q, p).allSatisfy { $0 >= $1 } && zip(q, p).contains { $0 > $1 }
            }
        }
    }
}
