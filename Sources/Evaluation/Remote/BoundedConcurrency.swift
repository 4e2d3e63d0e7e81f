import Dispatch
import Foundation

/// A count shared between request tasks and the thread that reports progress.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

enum BoundedConcurrency {
    /// body(0..<count) with at most `limit` calls in flight; results in index order. The first
    /// error cancels the calls still running and is rethrown (nothing partial is returned).
    static func map<T: Sendable>(_ count: Int, limit: Int, counter: ProgressCounter? = nil,
                                 _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        guard count > 0 else { return [] }
        return try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            while next < min(max(1, limit), count) {
                let i = next
                group.addTask { (i, try await body(i)) }
                next += 1
            }
            while let (i, value) = try await group.next() {
                results[i] = value
                counter?.add(1)
                if next < count {
                    let j = next
                    group.addTask { (j, try await body(j)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }

    /// Runs async work from synchronous code (EvaluationBackend is synchronous), calling
    /// `progress` on the calling thread as `counter` moves.
    static func blocking<T: Sendable>(counter: ProgressCounter, progress: (Int) -> Void,
                                      _ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let box = BlockingBox<T>()
        Task.detached {
            do { box.result = .success(try await operation()) } catch { box.result = .failure(error) }
            box.done.signal()
        }
        var reported = 0
        while box.done.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            let n = counter.value
            if n != reported { reported = n; progress(n) }
        }
        let n = counter.value
        if n != reported { progress(n) }
        return try box.result!.get()
    }
}

/// The hand-over between the detached task and the waiting thread: written once before the
/// semaphore is signalled, read after it is waited on.
final class BlockingBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
    let done = DispatchSemaphore(value: 0)
}
