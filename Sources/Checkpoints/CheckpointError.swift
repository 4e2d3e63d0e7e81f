/// Everything that can be wrong with a checkpoint on disk. Each case names the file, the field
/// and what was expected, because the person reading it has to go and fix that file.
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    public let file: String
    public let field: String
    public let problem: String

    public init(file: String, field: String, _ problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    public var description: String {
        field.isEmpty ? "\(file): \(problem)" : "\(file): \(field): \(problem)"
    }
}
