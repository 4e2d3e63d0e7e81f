import Foundation

/// Why a tokenizer.json could not be loaded.
///
/// Every error names the JSON path of the offending field (e.g. `model.type`) so the user can
/// find it in the file; `file` is filled in when the tokenizer was loaded from a URL.
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The file could not be read or is not valid JSON.
        case unreadable
        /// A required field is missing or has the wrong JSON type.
        case malformed
        /// The file is valid but uses a feature this reader does not implement.
        case unsupported
    }

    public var kind: Kind
    /// JSON path of the field at fault, e.g. `pre_tokenizer.pretokenizers[0].type`; empty for the root.
    public var path: String
    public var message: String
    public var file: String?

    public init(_ kind: Kind, path: String, _ message: String, file: String? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.file = file
    }

    public var description: String {
        let location = file.map { "\($0): " } ?? "tokenizer.json: "
        return path.isEmpty ? location + message : location + "\(path): " + message
    }

    func inFile(_ file: String) -> TokenizerError {
        var copy = self
        copy.file = file
        return copy
    }
}
