import Foundation
import Yams

/// lm-eval's generation_kwargs beyond `until` / `max_gen_toks`: the decoding mode. forgetlens
/// decodes greedily; a task that asks for sampling is refused rather than silently run greedy.
enum GenerationSettings {
    static func checkGreedy(_ kwargs: Node, fail: (String) -> TaskDefinitionError) throws {
        let doSample = kwargs["do_sample"]
        if let doSample {
            guard let b = doSample.bool else { throw fail("line \(TaskYAMLKeys.line(doSample)): generation_kwargs.do_sample: expected true or false") }
            if b { throw fail("line \(TaskYAMLKeys.line(doSample)): generation_kwargs.do_sample: true: sampling is not supported; forgetlens decodes greedily (do_sample: false)") }
        }
        for key in ["temperature", "top_p"] {
            guard let n = kwargs[key] else { continue }
            guard let x = n.float else { throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.\(key): expected a number") }
            // Transformers ignores temperature / top_p when do_sample is false; without do_sample
            // a positive temperature would make lm-eval's HF model sample, so it is refused.
            if doSample == nil && key == "temperature" && x > 0 {
                throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.temperature: \(x) without do_sample: false asks for sampling, which is not supported; forgetlens decodes greedily")
            }
        }
        if let n = kwargs["top_k"], n.int == nil { throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.top_k: expected an integer") }
    }
}
