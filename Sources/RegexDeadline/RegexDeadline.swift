import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ICU regex matching (NSRegularExpression) that stops at a CPU-time deadline. Files we read
/// supply regexes (tokenizer.json's Split and Replace patterns, adapter_config.json's
/// rank_pattern / alpha_pattern keys), and a backtracking engine takes exponential time on some
/// (`(.*)*x`, `(?:.|.)*Z`). With `.reportProgress` ICU calls back while it works (each match, each
/// position a search passes without one, every 10,000 steps of a long match), so a runaway match
/// can be stopped; Foundation exposes no ICU time limit otherwise.
///
/// Time is the calling thread's CPU time, not the wall clock: a process that is paused or shares
/// its cores does not run out of time.
public enum RegexDeadline {
    /// CPU seconds spent by the calling thread.
    public static func cpuTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Calls `body` with each match of `regex` in `range` of `s`, in order, until it returns false
    /// or `deadline` (a `cpuTime()` value) passes. Returns false when the deadline cut it short.
    /// The clock (a system call) is read on every 256th callback: reading it on each one doubled
    /// the time of a tokenizer Replace regex that rarely matches (RoBERTa's `\s{2,}`).
    @discardableResult
    public static func enumerateMatches(_ regex: NSRegularExpression, in s: String, range: NSRange,
                                        options: NSRegularExpression.MatchingOptions = [], deadline: Double,
                                        _ body: (NSRange) -> Bool) -> Bool {
        var timedOut = false
        var sinceCheck = 0
        // The block is declared escaping but runs only during the call.
        withoutActuallyEscaping(body) { body in
            regex.enumerateMatches(in: s, options: options.union(.reportProgress), range: range) { m, _, stop in
                if let m, !body(m.range) { stop.pointee = true; return }
                sinceCheck += 1
                guard sinceCheck >= 256 else { return }
                sinceCheck = 0
                if cpuTime() > deadline {
                    timedOut = true
                    stop.pointee = true
                }
            }
        }
        return !timedOut
    }
}
