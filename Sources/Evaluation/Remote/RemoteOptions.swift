import Foundation

/// How to reach an OpenAI-compatible completions server (vLLM, llama.cpp / llama-cpp-python,
/// TGI's OpenAI layer, ...) and how hard to push it.
public struct RemoteOptions: Sendable {
    /// The server root, e.g. http://127.0.0.1:8000 or http://127.0.0.1:8000/v1 (both work).
    public var baseURL: URL
    /// The API key itself (read by the caller from an environment variable, never from the
    /// command line). Sent as `Authorization: Bearer`; redacted from every error message.
    public var apiKey: String?
    /// The `model` field of each request: a served model or a LoRA module name (vLLM
    /// `--lora-modules name=path`). nil: the only model /v1/models lists.
    public var servedModel: String?
    /// Requests in flight at once.
    public var concurrency: Int
    /// Seconds one HTTP request may take (connect + server time + body) before it is abandoned.
    public var timeout: TimeInterval
    /// Attempts per request for retryable failures (429, 5xx, connection errors, timeouts).
    public var maxAttempts: Int
    /// Backoff before retry k (k = 1, 2, ...): min(maxBackoff, initialBackoff * 2^(k-1)), +-25% jitter;
    /// a Retry-After header (seconds) wins when it is longer, up to maxBackoff.
    public var initialBackoff: TimeInterval
    public var maxBackoff: TimeInterval
    public var promptForm: PromptForm
    public var logprobsForm: LogprobsForm
    /// Largest response body read, after decompression: a prompt_logprobs answer for an 8k-token
    /// prompt is a few MB, so 64 MiB only stops a broken or hostile server from filling memory.
    public var maxResponseBytes = 64 << 20

    /// What the server is sent as `prompt`.
    public enum PromptForm: String, Sendable, CaseIterable {
        /// Token ids where the server takes them (vLLM), else text (probed once).
        case auto
        /// Token ids: context/continuation boundaries are exact (lm-eval's local-completions).
        case tokens
        /// Text: the server tokenizes; the echoed tokens are checked against ours.
        case text
    }

    /// How prompt log-probs are asked for.
    public enum LogprobsForm: String, Sendable, CaseIterable {
        /// echo first; vLLM's prompt_logprobs if the server refuses echo.
        case auto
        /// OpenAI legacy: echo true, logprobs 1, max_tokens 1 (lm-eval's local-completions).
        case echo
        /// vLLM's extension: prompt_logprobs 1 (token ids and ranks, no echo).
        case promptLogprobs = "prompt_logprobs"
    }

    public init(baseURL: URL, apiKey: String? = nil, servedModel: String? = nil, concurrency: Int = 4,
                timeout: TimeInterval = 300, maxAttempts: Int = 5, initialBackoff: TimeInterval = 0.5,
                maxBackoff: TimeInterval = 16, promptForm: PromptForm = .auto, logprobsForm: LogprobsForm = .auto) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.servedModel = servedModel
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.promptForm = promptForm
        self.logprobsForm = logprobsForm
    }

    /// Reads the key from `variable` (the only way a key gets in). Unset or empty: an error that
    /// names the variable, never a value.
    public static func apiKey(fromEnvironment variable: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let value = environment[variable], !value.isEmpty else {
            throw RemoteError.configuration("--api-key-env \(variable): the environment variable \(variable) is not set or empty")
        }
        return value
    }

    /// The URL of an API path ("completions", "models") under the base URL's /v1.
    func endpoint(_ path: String) -> URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/v1") { base += "/v1" }
        return URL(string: base + "/" + path)!
    }

    /// The base URL without any user:password part (for messages and results.json).
    public var displayURL: String {
        guard var parts = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { return "(url)" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        return parts.string ?? "(url)"
    }
}
