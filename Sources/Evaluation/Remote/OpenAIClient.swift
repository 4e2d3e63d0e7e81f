import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// JSON over HTTP to an OpenAI-compatible server, with the retry policy every request shares:
/// 429, 5xx, connection errors and timeouts are retried with exponential backoff (and jitter,
/// so N concurrent requests do not come back in lockstep); other 4xx fail at once with the
/// server's message; a 2xx body that is not JSON fails at once (a server that lies is not flaky).
/// Stateless apart from the URLSession, so one client serves every concurrent request.
final class OpenAIClient: Sendable {
    let options: RemoteOptions
    let redact: Redactor
    let session: URLSession
    let exchanges = CappedExchanges()

    init(options: RemoteOptions) {
        self.options = options
        redact = Redactor(secret: options.apiKey)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = options.timeout
        configuration.timeoutIntervalForResource = options.timeout
        configuration.httpMaximumConnectionsPerHost = max(options.concurrency, 1)
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        // Delegate-driven tasks, so the body can be capped while it arrives (a completion handler
        // only sees it whole).
        session = URLSession(configuration: configuration, delegate: exchanges, delegateQueue: nil)
    }

    deinit { session.finishTasksAndInvalidate() }

    func get(_ path: String) async throws -> JSONValue {
        try await send(path, method: "GET", body: nil)
    }

    /// `probing`: a 500 is an answer, not an outage (llama-cpp-python reports a request body it
    /// cannot validate, e.g. token-id prompts, as HTTP 500): it is not retried but thrown as a
    /// rejection, so the probe moves on to the next request form.
    func post(_ path: String, _ body: JSONValue, probing: Bool = false) async throws -> JSONValue {
        try await send(path, method: "POST", body: Data(body.serialized().utf8), probing: probing)
    }

    /// One logical request: up to options.maxAttempts HTTP attempts.
    func send(_ path: String, method: String, body: Data?, probing: Bool = false) async throws -> JSONValue {
        let url = options.endpoint(path)
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = options.timeout
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let key = options.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let where_ = "\(method) \(redact(url.path)) on \(options.displayURL)"

        var lastFailure = ""
        for attempt in 1...options.maxAttempts {
            try Task.checkCancellation()
            var retryAfter: TimeInterval? = nil
            do {
                let (data, response) = try await exchanges.data(session, request, deadline: options.timeout, limit: options.maxResponseBytes)
                guard let http = response as? HTTPURLResponse else {
                    throw RemoteError(.malformed, "\(where_): not an HTTP response")
                }
                switch http.statusCode {
                case 200..<300:
                    do {
                        return try JSONValue.parse(Self.pythonTolerant(data))
                    } catch {
                        throw RemoteError(.malformed, "\(where_): the server answered \(http.statusCode) but the body is not valid JSON (\(error)): \(redact.snippet(data))")
                    }
                case 500 where probing:
                    throw RemoteError(.rejected, "\(where_) failed with HTTP 500 (probing which request form the server takes): \(redact.snippet(data))", status: 500)
                case 429, 500..<600:
                    lastFailure = "HTTP \(http.statusCode): \(redact.snippet(data))"
                    if let header = http.value(forHTTPHeaderField: "Retry-After"), let seconds = TimeInterval(header.trimmingCharacters(in: .whitespaces)) {
                        retryAfter = seconds
                    }
                default:
                    throw RemoteError(.rejected, "\(where_) was rejected with HTTP \(http.statusCode)\(Self.hint(http.statusCode)): \(redact.snippet(data))", status: http.statusCode)
                }
            } catch let error as RemoteError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as ResponseTooLarge {
                // Not transient: asking again gets the same body.
                throw RemoteError(.malformed, "\(where_): the response is larger than \(error.limit >> 20) MiB (after decompression); "
                    + "refused (a server answering with a body that size is broken, or not an OpenAI-compatible server)")
            } catch let error as DeadlineExceeded {
                lastFailure = "no complete response within \(Self.seconds(error.seconds)) (--timeout)"
            } catch let error as URLError {
                if Task.isCancelled { throw CancellationError() }
                lastFailure = Self.describe(error, timeout: options.timeout)
            } catch let error as NSError where error.domain == NSURLErrorDomain {
                // corelibs Foundation reports transport errors as NSError in NSURLErrorDomain
                if Task.isCancelled { throw CancellationError() }
                lastFailure = Self.describe(URLError(URLError.Code(rawValue: error.code) ?? .unknown), timeout: options.timeout)
            } catch {
                lastFailure = "\(error)"
            }
            if attempt < options.maxAttempts {
                try await Task.sleep(nanoseconds: UInt64(backoff(attempt: attempt, retryAfter: retryAfter) * 1e9))
            }
        }
        throw RemoteError(.unavailable, "\(where_) failed after \(options.maxAttempts) attempt\(options.maxAttempts == 1 ? "" : "s"): \(redact(lastFailure))")
    }

    /// Seconds to wait before attempt `attempt + 1`.
    func backoff(attempt: Int, retryAfter: TimeInterval?) -> TimeInterval {
        let exponential = min(options.maxBackoff, options.initialBackoff * pow(2, Double(attempt - 1)))
        let jittered = exponential * Double.random(in: 0.75...1.25)
        return min(options.maxBackoff, max(jittered, retryAfter ?? 0))
    }

    static func hint(_ status: Int) -> String {
        switch status {
        case 401, 403: return " (check the API key in the variable named by --api-key-env)"
        case 404: return " (check --base-url and --served-model; for a LoRA variant the server must be started with it, e.g. vLLM --lora-modules NAME=PATH)"
        case 400, 422: return " (the server refused the request's parameters)"
        default: return ""
        }
    }

    static func describe(_ error: URLError, timeout: TimeInterval) -> String {
        switch error.code {
        case .timedOut: return "no response within \(seconds(timeout)) (--timeout)"
        case .cannotConnectToHost: return "connection refused (is the server running?)"
        case .networkConnectionLost: return "the connection was closed before a complete response"
        case .cannotFindHost, .dnsLookupFailed: return "unknown host"
        default: return "network error \(error.code.rawValue): \(error.localizedDescription)"
        }
    }

    static func seconds(_ s: TimeInterval) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.2f s", s)
    }

    /// Python's json.dumps writes NaN / Infinity / -Infinity for float('nan'/'inf') (a -inf
    /// log-prob is possible); they become numbers JSONValue reads (1e999 parses as infinity).
    static func pythonTolerant(_ data: Data) -> Data {
        guard data.range(of: Data("Infinity".utf8)) != nil || data.range(of: Data("NaN".utf8)) != nil else { return data }
        var out = [UInt8]()
        out.reserveCapacity(data.count)
        let bytes = [UInt8](data)
        var i = 0, inString = false
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                out.append(b)
                if b == UInt8(ascii: "\\"), i + 1 < bytes.count { out.append(bytes[i + 1]); i += 2; continue }
                if b == UInt8(ascii: "\"") { inString = false }
                i += 1
                continue
            }
            if b == UInt8(ascii: "\"") { inString = true; out.append(b); i += 1; continue }
            if bytes[i...].starts(with: "Infinity".utf8) { out += Array("1e999".utf8); i += 8; continue }
            if bytes[i...].starts(with: "NaN".utf8) { out += Array("null".utf8); i += 3; continue }
            out.append(b)
            i += 1
        }
        return Data(out)
    }
}

struct DeadlineExceeded: Error { let seconds: TimeInterval }

struct ResponseTooLarge: Error { let limit: Int }

/// The session's delegate: each HTTP exchange's body is collected as it arrives and the task is
/// cancelled as soon as it passes the limit (a 100 MB body, or a small gzip that expands to
/// 150 MB, is never held whole). Each exchange is also bounded by a total deadline: URLSession's
/// own timeouts are idle timeouts (a server that trickles bytes may never trip them on Linux).
final class CappedExchanges: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private final class Pending {
        let state: ExchangeState
        let continuation: CheckedContinuation<(Data, URLResponse), Error>
        let limit: Int
        var body = Data()
        var response: URLResponse?
        var tooLarge = false
        init(state: ExchangeState, continuation: CheckedContinuation<(Data, URLResponse), Error>, limit: Int) {
            self.state = state
            self.continuation = continuation
            self.limit = limit
        }
    }

    private let lock = NSLock()
    private var pending: [Int: Pending] = [:]

    func data(_ session: URLSession, _ request: URLRequest, deadline: TimeInterval, limit: Int) async throws -> (Data, URLResponse) {
        let state = ExchangeState()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Data, URLResponse), Error>) in
                let task = session.dataTask(with: request)
                lock.lock()
                pending[task.taskIdentifier] = Pending(state: state, continuation: continuation, limit: limit)
                lock.unlock()
                state.start(task)
                // The timer stays queued until the deadline (minutes) even when the exchange ended
                // long before: it must not keep the task, and with it the request body, alive.
                let id = task.taskIdentifier
                DispatchQueue.global().asyncAfter(deadline: .now() + deadline) { [weak self, weak task] in
                    if state.finish(continuation, .failure(DeadlineExceeded(seconds: deadline))) {
                        self?.forget(id)
                        task?.cancel()
                    }
                }
                task.resume()
            }
        } onCancel: {
            state.cancel()
        }
    }

    private func forget(_ id: Int) {
        lock.lock(); pending[id] = nil; lock.unlock()
    }

    private func entry(_ id: Int) -> Pending? {
        lock.lock(); defer { lock.unlock() }
        return pending[id]
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let p = entry(dataTask.taskIdentifier) else { return completionHandler(.cancel) }
        p.response = response
        // A declared length over the limit is refused before any of the body is read (the
        // declared length is of the encoded body; the decoded one is checked as it arrives).
        if response.expectedContentLength > Int64(p.limit) {
            p.tooLarge = true
            return completionHandler(.cancel)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let p = entry(dataTask.taskIdentifier), !p.tooLarge else { return }
        if p.body.count + data.count > p.limit {
            p.tooLarge = true
            p.body = Data()
            dataTask.cancel()
            return
        }
        p.body.append(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let p = pending.removeValue(forKey: task.taskIdentifier)
        lock.unlock()
        guard let p else { return }
        if p.tooLarge {
            p.state.finish(p.continuation, .failure(ResponseTooLarge(limit: p.limit)))
        } else if let error {
            p.state.finish(p.continuation, .failure(error))
        } else if let response = p.response ?? task.response {
            p.state.finish(p.continuation, .success((p.body, response)))
        } else {
            p.state.finish(p.continuation, .failure(URLError(.badServerResponse)))
        }
    }
}

/// The once-only hand-over of an exchange's outcome (completion handler, deadline timer and
/// cancellation race for it).
final class ExchangeState: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var cancelled = false
    private var task: URLSessionDataTask?

    func start(_ task: URLSessionDataTask) {
        lock.lock(); self.task = task; let c = cancelled; lock.unlock()
        if c { task.cancel() }
    }

    func cancel() {
        lock.lock(); cancelled = true; let t = task; lock.unlock()
        t?.cancel()
    }

    /// Resumes the continuation unless someone already did; true if this call did.
    @discardableResult
    func finish<T>(_ continuation: CheckedContinuation<T, Error>, _ result: sending Result<T, Error>) -> Bool {
        lock.lock()
        guard !done else { lock.unlock(); return false }
        done = true
        task = nil  // the exchange is over: let the session release the task and its request
        lock.unlock()
        continuation.resume(with: result)
        return true
    }
}
