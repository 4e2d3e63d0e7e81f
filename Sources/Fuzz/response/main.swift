@testable import Evaluation
import Foundation
import FuzzSupport

// OpenAI-compatible /v1/completions bodies (Python's NaN/Infinity tolerated) in every form the
// remote backend reads: generated text, echoed log-probs, vLLM prompt_logprobs.
FuzzDriver.main { data in
    guard let body = try? JSONValue.parse(OpenAIClient.pythonTolerant(data)) else { return }
    _ = try? CompletionResponse.text(body, context: "fuzz")
    _ = try? CompletionResponse.echoed(body, context: "fuzz")
    _ = try? CompletionResponse.promptLogprobs(body, promptIDs: [1, 17, 9], context: "fuzz")
}
