import Checkpoints
import Foundation

/// Output files of the commands: see `AtomicWrite` (temporary sibling + rename, links followed,
/// FIFOs and devices written directly).
enum AtomicFile {
    static func write(_ data: Data, to path: String) throws {
        do { try AtomicWrite.write(data, to: path) } catch let e as AtomicWrite.Failure { throw CLIError(e.description) }
    }
}

/// An error of the command line itself (not of a checkpoint or tokenizer).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
