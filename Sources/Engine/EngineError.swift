/// Problems with a request to the engine (checkpoint problems are `CheckpointError`s).
public struct EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
