import Foundation

/// A document turned into what the scorer needs, by lm-eval's rules (api/task.py ConfigurableTask).
public struct PreparedDocument: Sendable {
    public var docID: Int
    public var doc: JSONObject
    /// The prompt; for multiple-input tasks (winogrande) one per choice.
    public var contexts: [String]
    public var choices: [String]
    /// multiple_choice: gold index, or -100 when out of range (lm-eval's marker). Others: the target text.
    public var gold: Int
    public var target: JSONValue
    public var requests: [Request]
}

/// One request in text form, as lm-eval's Instance.arguments.
public enum Request: Sendable, Equatable {
    case loglikelihood(context: String, continuation: String)
    case rolling(text: String)
    case generate(context: String, until: [String], maxTokens: Int)
}

/// A task ready to run: its definition, its (processed) documents, and the few-shot pool.
public struct EvaluationTask: Sendable {
    public let definition: TaskDefinition
    public let documents: [JSONObject]
    let fewshotPool: [JSONObject]?

    public var name: String { definition.name }

    public init(definition: TaskDefinition) throws {
        self.definition = definition
        try definition.checkDataFiles()
        let raw = try TaskData.readDocuments(path: definition.dataFile)
        documents = try Self.process(raw, definition, file: definition.dataFile)
        if let f = definition.fewshotFile {
            fewshotPool = try Self.process(try TaskData.readDocuments(path: f), definition, file: f)
        } else {
            fewshotPool = nil
        }
    }

    static func process(_ docs: [JSONObject], _ def: TaskDefinition, file: String) throws -> [JSONObject] {
        guard let name = def.processDocs, case .processDoc(let f)? = TaskFunctions.registry[name] else { return docs }
        return try docs.enumerated().map { i, d in
            do { return try f(d) } catch { throw EvaluationError("\(file): row \(i + 1): \(error)") }
        }
    }

    /// True when doc_to_text gives the gold index and the choices are contexts (winogrande).
    func isMultipleInput(_ doc: JSONObject) throws -> Bool {
        if case .integer = definition.docToText { return true }
        if case .function = definition.docToText, case .int = try docToText(doc) { return true }
        return false
    }

    // MARK: lm-eval's doc_to_text / doc_to_target / doc_to_choice

    func resolve(_ spec: FieldSpec, _ doc: JSONObject, isTarget: Bool) throws -> JSONValue {
        switch spec {
        case .integer(let i): return .int(i)
        case .list(let l): return .array(l)
        case .function(let name):
            guard case .field(let f)? = TaskFunctions.registry[name] else { throw EvaluationError("\(name) is not a field function") }
            return try f(doc)
        case .text(let s, let template):
            if let v = doc[s] { return v }  // a column name
            let rendered = try template.render(doc)
            let hasChoices = definition.docToChoice != nil
            if hasChoices, !rendered.isEmpty, rendered.unicodeScalars.allSatisfy({ $0.properties.numericType == .decimal }), let i = Int(rendered) {
                return .int(i)  // lm-eval: text.isdigit() -> ast.literal_eval
            }
            if isTarget, rendered.count >= 2, rendered.hasPrefix("["), rendered.hasSuffix("]"), template.isSingleExpression,
               case .array(let a) = try template.value(doc) {
                return .array(a)
            }
            return .string(rendered)
        }
    }

    func docToText(_ doc: JSONObject) throws -> JSONValue { try resolve(definition.docToText, doc, isTarget: false) }
    func docToTarget(_ doc: JSONObject) throws -> JSONValue { try resolve(definition.docToTarget, doc, isTarget: true) }

    func docToChoice(_ doc: JSONObject) throws -> [String] {
        guard let spec = definition.docToChoice else { return [] }
        let v: JSONValue
        switch spec {
        case .text(let s, let template):
            if let col = doc[s] { v = col }
            else if template.isSingleExpression { v = try template.value(doc) }  // == ast.literal_eval(render(...))
            else { throw EvaluationError("doc_to_choice must be a column name or a single {{ expression }} giving a list") }
        default: v = try resolve(spec, doc, isTarget: false)
        }
        guard case .array(let items) = v else { throw EvaluationError("doc_to_choice gave a \(v.typeName), not a list") }
        return items.map(PythonRepr.str)
    }

    // MARK: prompts

    /// The few-shot examples' text followed by the document's prompt(s), as lm-eval's
    /// fewshot_context (plain text, no chat template).
    func context(for doc: JSONObject, fewshot: [JSONObject]) throws -> [String] {
        // lm-eval puts the description first as a message with no delimiter of its own
        var prefix = definition.description
        for shot in fewshot {
            var q = try docToText(shot)
            let choices = definition.docToChoice != nil ? try docToChoice(shot) : []
            let a = try docToTarget(shot)
            if case .int(let i) = q, try isMultipleInput(shot) {  // multiple input: q indexes the choices
                guard choices.indices.contains(i) else { throw EvaluationError("few-shot gold index \(i) out of range") }
                q = .string(choices[i])
            }
            let answer: String
            switch a {
            case .int(let i) where !choices.isEmpty:
                guard choices.indices.contains(i) else { throw EvaluationError("few-shot gold index \(i) out of range") }
                answer = choices[i]
            case .array(let list): answer = list.first.map(PythonRepr.str) ?? ""
            default: answer = PythonRepr.str(a)
            }
            let hasAnswer = !(a == .null || a == .string(""))
            prefix += PythonRepr.str(q) + (hasAnswer ? definition.targetDelimiter : "")
            if hasAnswer { prefix += answer + definition.fewshotDelimiter }
        }
        if try isMultipleInput(doc) {
            return try docToChoice(doc).map { prefix + $0 }
        }
        let q = try docToText(doc)
        guard case .string(let text) = q else { throw EvaluationError("doc_to_text gave a \(q.typeName), not text") }
        return [prefix + text]
    }

    /// Builds the document's requests. `fewshot`: the sampled examples.
    func prepare(docID: Int, fewshot: [JSONObject]) throws -> PreparedDocument {
        let doc = documents[docID]
        do {
            return try prepareUnlabelled(docID: docID, doc: doc, fewshot: fewshot)
        } catch let e as TemplateError {
            throw EvaluationError("\(definition.dataFile): row \(docID + 1): \(e)")
        } catch let e as EvaluationError {
            throw EvaluationError("\(definition.dataFile): row \(docID + 1): \(e.description)")
        }
    }

    private func prepareUnlabelled(docID: Int, doc: JSONObject, fewshot: [JSONObject]) throws -> PreparedDocument {
        let def = definition
        switch def.outputType {
        case .multipleChoice:
            let choices = try docToChoice(doc)
            guard !choices.isEmpty else { throw EvaluationError("doc_to_choice gave no choices") }
            let contexts = try context(for: doc, fewshot: fewshot)
            let multiple = try isMultipleInput(doc)
            let target = try docToTarget(doc)
            let requests: [Request]
            if multiple {
                requests = contexts.map { .loglikelihood(context: $0, continuation: def.targetDelimiter + PythonRepr.str(target)) }
            } else {
                requests = choices.map { .loglikelihood(context: contexts[0], continuation: def.targetDelimiter + $0) }
            }
            let goldValue = multiple ? try docToText(doc) : target
            var gold: Int
            switch goldValue {
            case .int(let i): gold = i
            case .string(let s): gold = choices.firstIndex(of: s) ?? -100
            default: throw EvaluationError("the gold answer is a \(goldValue.typeName), expected an index or a choice's text")
            }
            if gold >= choices.count || gold < 0 {
                throw EvaluationError("gold answer \(PythonRepr.repr(goldValue)) is out of range of the \(choices.count) choices \(PythonRepr.repr(.array(choices.map { .string($0) })))")
            }
            return PreparedDocument(docID: docID, doc: doc, contexts: contexts, choices: choices, gold: gold, target: target, requests: requests)
        case .loglikelihoodRolling:
            let target = try docToTarget(doc)
            return PreparedDocument(docID: docID, doc: doc, contexts: [], choices: [], gold: -1, target: target,
                                    requests: [.rolling(text: PythonRepr.str(target))])
        case .generateUntil:
            let contexts = try context(for: doc, fewshot: fewshot)
            let target = try docToTarget(doc)
            return PreparedDocument(docID: docID, doc: doc, contexts: contexts, choices: [], gold: -1, target: target,
                                    requests: [.generate(context: contexts[0], until: def.until, maxTokens: def.maxGenTokens)])
        }
    }
}
