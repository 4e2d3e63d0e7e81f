import Engine
import Foundation
import Yams

/// lm-eval's generation_kwargs beyond `until` / `max_gen_toks`: the decoding mode. Greedy unless
/// `do_sample: true`; then transformers' defaults fill what the task leaves out (temperature 1,
/// top_k 50, top_p 1), as lm-eval's HF model would get them.
enum GenerationSettings {
    static func parse(_ kwargs: Node, fail: (String) -> TaskDefinitionError) throws -> SamplingSettings? {
        let doSample = kwargs["do_sample"]
        var sample = false
        if let doSample {
            guard let b = doSample.bool else { throw fail("line \(TaskYAMLKeys.line(doSample)): generation_kwargs.do_sample: expected true or false") }
            sample = b
        }
        var settings = SamplingSettings(temperature: 1, topK: 50, topP: nil)
        if let n = kwargs["temperature"] {
            guard let x = n.float else { throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.temperature: expected a number") }
            // without do_sample, lm-eval leaves the choice to the model's generation_config: ambiguous, refused
            if doSample == nil && x > 0 {
                throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.temperature: \(x) without do_sample: write do_sample: true to sample or do_sample: false for greedy decoding")
            }
            if sample {
                guard x > 0 else { throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.temperature: must be above 0 with do_sample: true") }
                settings.temperature = x
            }
        }
        if let n = kwargs["top_p"] {
            guard let x = n.float, x > 0, x <= 1 else { throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.top_p: expected a number in (0, 1]") }
            settings.topP = x < 1 ? x : nil
        }
        if let n = kwargs["top_k"] {
            guard let k = YAMLInteger.int(n), k >= 0 else { throw fail("line \(TaskYAMLKeys.line(n)): generation_kwargs.top_k: expected an integer >= 0\(YAMLInteger.rangeNote(n))") }
            settings.topK = k > 0 ? k : nil
        }
        return sample ? settings : nil
    }
}
