import Checkpoints
import Foundation
import GRDB
import Spectra

/// One checkpoint's part of a `run` that failed: its files could not be read, or its
/// evaluation or spectra stopped. The run records it and goes on with the other checkpoints.
public struct CheckpointFailure: Sendable, CustomStringConvertible {
    public enum Stage: String, Sendable {
        case files = "reading its files"
        case evaluation
        case spectra
    }

    public let label: String
    public let stage: Stage
    public let message: String

    public init(label: String, stage: Stage, error: Error) {
        self.label = label
        self.stage = stage
        self.message = "\(error)"
    }

    public var description: String { "\(label) (\(stage.rawValue)): \(message)" }
}

/// How `run` ends when some checkpoints failed: everything else was done and committed, and a
/// rerun once the files are fixed does only what is missing.
public struct RunFailures: Error, CustomStringConvertible {
    public let failures: [CheckpointFailure]
    public let checkpoints: Int

    public var description: String {
        let labels = failures.reduce(into: [String]()) { if !$0.contains($1.label) { $0.append($1.label) } }
        return "\(labels.count) of \(checkpoints) checkpoint\(checkpoints == 1 ? "" : "s") failed (\(labels.joined(separator: ", "))); "
            + "the other results are stored, and a rerun after fixing these does only what is missing:\n"
            + failures.map { "  - \($0)" }.joined(separator: "\n")
    }
}

extension ExperimentRunner {
    /// Errors that end the whole run instead of one checkpoint's part: the store's own (a full
    /// disk or a damaged store fails every checkpoint alike; ResultsStore names itself as the
    /// error's file) and cancellation.
    func endsTheRun(_ error: Error) -> Bool {
        if error is CancellationError || error is DatabaseError { return true }
        if let e = error as? ExperimentError, e.file == store.path { return true }
        return false
    }

    /// The error for a spectrum that failed or came out non-finite: the input tensors holding
    /// NaN/Inf, by file and name, or else the underlying error (or overflow), with the tensor.
    func spectrumError(_ p: Perturbation, base: ModelDirectory, underlying: Error?) -> Error {
        let bad = p.nonFiniteInputs(base: base)
        if !bad.isEmpty {
            return SpectraError("the spectrum of \(p.name) is undefined: non-finite weights: " + bad.joined(separator: "; "))
        }
        if let underlying { return SpectraError("the spectrum of \(p.name): \(underlying)") }
        return SpectraError("the spectrum of \(p.name) came out NaN or infinite although no input tensor is; values overflowed (weights far too large?)")
    }
}

/// A spectra failure of one tensor, in words.
struct SpectraError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
