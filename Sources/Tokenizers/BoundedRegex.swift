import Foundation
import RegexDeadline

/// A regex from tokenizer.json (a Split pattern, a Replace normalizer or decoder) run by ICU with
/// a CPU-time deadline, because a user pattern can backtrack exponentially (`(?:.|.)*Z`): HF's
/// Oniguruma often optimises such patterns away, ICU does not and would hang.
///
/// - At load, the pattern is matched against a few probe texts (mixed prose and long runs of one
///   character, where nested quantifiers blow up) within `probeSeconds` of CPU in all; a pattern
///   that runs past it is refused with a `TokenizerError` naming its field.
/// - Every later call has a deadline too (`callSeconds` plus `secondsPerUnit` per UTF-16 unit, so
///   long legitimate texts are never cut). `encode` and `decode` cannot throw, so a call that runs
///   past it stops matching there: the rest of that text is left unsplit / unreplaced and a
///   warning naming the field is printed once on stderr. Only a pattern that passed the probes
///   and still backtracks catastrophically on a particular text gets here.
///
/// Time is the thread's CPU time (RegexDeadline, shared with adapter_config.json's patterns).
///
/// Cost (release build, every distinct HellaSwag string, 3 interleaved rounds): a Split regex
/// run by ICU (Llama-3's with `\p{N}{1,4}`, so no scanner takes it) 1.10 s before, 1.04 s after;
/// GPT-NeoX-20B (scanner) 0.37 / 0.36 s. A Replace regex that rarely matches pays for ICU's
/// progress call at every position it passes: RoBERTa-style `\s{2,}` 2.51 -> 2.71 s (+8%).
final class BoundedRegex: @unchecked Sendable {
    static let probeSeconds = 0.05
    static let callSeconds = 0.25
    static let secondsPerUnit = 1e-6

    let regex: NSRegularExpression
    /// The pattern as written in tokenizer.json, and its field (for messages).
    let pattern: String
    let path: String
    private let warned = NSLock()
    private var hasWarned = false

    /// Compiles `source` (already translated to ICU syntax) and probes it; `pattern` and `path`
    /// are what the file says, for messages.
    init(_ source: String, pattern: String, path: String) throws {
        self.pattern = pattern
        self.path = path
        do {
            regex = try NSRegularExpression(pattern: source, options: [])
        } catch {
            throw TokenizerError(.unsupported, path: path, "regex \(pattern) cannot be compiled: \(error.localizedDescription)")
        }
        let deadline = RegexDeadline.cpuTime() + Self.probeSeconds
        for probe in Self.probes {
            let ns = probe as NSString
            let finished = Self.enumerate(regex, probe, length: ns.length, deadline: deadline) { _ in }
            guard finished else {
                throw TokenizerError(.unsupported, path: path, "regex \(pattern) backtracks catastrophically: matching it against a \(ns.length)-character probe text took more than \(Self.probeSeconds) s of CPU; simplify the pattern (nested or overlapping quantifiers)")
            }
        }
    }

    /// Texts a sane tokenizer regex matches in microseconds: prose with letters, digits,
    /// punctuation, non-ASCII and whitespace, and runs of one character of each class (a nested
    /// quantifier such as `(a|a)*b` takes 2^n steps on a run of n).
    static let probes: [String] = {
        let prose = "Hello, World! It's 2024-06-01: naïve café, ΑΒΓ Ёж 日本語テキスト 🙂👍🏽 x=3.14;\n\tend  of   line\r\n"
        let runs = ["a", "Z", "é", "日", "7", " ", "\n", ".", "'", "🙂"].map { String(repeating: $0, count: 48) }
        return [prose + prose + prose] + runs + [runs.joined()]
    }()

    /// Calls `body` with each match's UTF-16 range in `s` (of `length` UTF-16 units), in order;
    /// past the deadline it stops, warns once and returns false.
    @discardableResult
    func forEachMatch(in s: String, length: Int, _ body: (NSRange) -> Void) -> Bool {
        let deadline = RegexDeadline.cpuTime() + Self.callSeconds + Double(length) * Self.secondsPerUnit
        if Self.enumerate(regex, s, length: length, deadline: deadline, body) { return true }
        warned.lock()
        let first = !hasWarned
        hasWarned = true
        warned.unlock()
        if first {
            let message = "forgetlens: warning: tokenizer.json: \(path): regex \(pattern) ran past its deadline on a \(length)-character text; the rest of that text was left unmatched, so its ids differ from HF's\n"
            FileHandle.standardError.write(Data(message.utf8))
        }
        return false
    }

    private static func enumerate(_ regex: NSRegularExpression, _ s: String, length: Int, deadline: Double,
                                  _ body: (NSRange) -> Void) -> Bool {
        RegexDeadline.enumerateMatches(regex, in: s, range: NSRange(location: 0, length: length), deadline: deadline) {
            body($0)
            return true
        }
    }

}
