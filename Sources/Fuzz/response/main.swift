import Evaluation
import Foundation
import FuzzSupport

// OpenAI-compatible /v1/completions bodies (Python's NaN/Infinity tolerated) in every form the
// remote backend reads: generated text, echoed log-probs, vLLM prompt_logprobs.
FuzzDriver.main { data in
    CompletionResponseReaders.exercise(data)
}
