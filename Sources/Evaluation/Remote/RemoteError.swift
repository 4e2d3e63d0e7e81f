import Foundation

/// Why a remote evaluation failed. Every message is built by code that knows the API key and
/// passes through `Redactor` first, so a key echoed back by a server never reaches the user.
public struct RemoteError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Bad options (missing key variable, unknown served model, ...).
        case configuration
        /// The server answered 4xx (not 429): our request or credentials are wrong; not retried.
        case rejected
        /// 429 / 5xx / connection errors / timeouts that outlived every retry.
        case unavailable
        /// The body is not the JSON an OpenAI-compatible server sends.
        case malformed
        /// The server tokenized differently from the model's tokenizer.json.
        case tokenMismatch
    }
    public let kind: Kind
    public let description: String
    /// HTTP status when there was one.
    public let status: Int?

    public init(_ kind: Kind, _ description: String, status: Int? = nil) {
        self.kind = kind
        self.description = description
        self.status = status
    }

    static func configuration(_ message: String) -> RemoteError { RemoteError(.configuration, message) }
}

/// Removes the API key (and its Bearer form) from text that may have come from a server.
struct Redactor: Sendable {
    let secret: String?

    func callAsFunction(_ text: String) -> String {
        guard let secret, !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: "[redacted]")
    }

    /// At most `limit` characters of a response body, redacted, on one line.
    func snippet(_ body: Data, limit: Int = 300) -> String {
        var text = String(decoding: body.prefix(4 * limit), as: UTF8.self)
        text = self(text).replacingOccurrences(of: "\n", with: " ")
        if text.count > limit { text = String(text.prefix(limit)) + "..." }
        return text.isEmpty ? "(empty body)" : text
    }
}
