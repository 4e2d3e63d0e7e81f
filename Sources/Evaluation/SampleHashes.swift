/// lm-evaluation-harness's per-sample hashes (0.4.3+, evaluator.py), which identify what a
/// score was computed on: doc_hash = sha256 of json.dumps(doc, indent=2, ensure_ascii=False),
/// prompt_hash = sha256 of the first request's first argument (the prompt, few-shot examples
/// included), target_hash = sha256 of str(target). The same values ResultsWriter.samples writes;
/// `forgetlens import --lmeval` compares them to decide whether lm-eval scored the experiment's
/// documents and prompts.
public enum SampleHashes {
    public static func doc(_ d: PreparedDocument) -> String {
        SHA256.hex(JSONValue.object(d.doc).serialized(indent: 2))
    }

    public static func prompt(_ d: PreparedDocument) -> String { SHA256.hex(firstArgument(d)) }

    public static func target(_ d: PreparedDocument) -> String { SHA256.hex(PythonRepr.str(d.target)) }

    /// requests[0].arguments[0]: the context of a loglikelihood or generation request, the text
    /// of a rolling one.
    public static func firstArgument(_ d: PreparedDocument) -> String {
        switch d.requests.first {
        case .loglikelihood(let c, _)?: return c
        case .rolling(let text)?: return text
        case .generate(let c, _, _)?: return c
        case nil: return d.contexts.first ?? ""
        }
    }
}
