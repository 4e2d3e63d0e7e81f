/// HF post-processors, reduced to what they do to the ids of a single sequence when
/// `add_special_tokens` is true: put special tokens around it. (Pair templates and offsets are
/// not needed by forgetlens.)
indirect enum PostProcessor {
    /// Ids before and after the sequence, from TemplateProcessing's `single`, RobertaProcessing
    /// or BertProcessing (both `cls $A sep`).
    case wrap(prefix: [Int], suffix: [Int])
    /// ByteLevel post-processing only trims offsets.
    case none
    case sequence([PostProcessor])

    static let supported = ["TemplateProcessing", "RobertaProcessing", "BertProcessing", "ByteLevel", "Sequence"]

    init(json: JSONNode) throws {
        switch try json.componentType(Self.supported) {
        case "TemplateProcessing":
            var specials: [String: [Int]] = [:]
            if let st = try json.optional("special_tokens") {
                for (name, node) in try st.object() {
                    specials[name] = try node.required("ids").array().map { try $0.int() }
                }
            }
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            for item in try json.required("single").array() {
                if let special = try item.optional("SpecialToken") {
                    let idNode = try special.required("id")
                    let name = try idNode.string()
                    guard let ids = specials[name] else {
                        throw idNode.malformed("special token \"\(name)\" is not in special_tokens")
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else if let seq = try item.optional("Sequence") {
                    let idNode = try seq.required("id")
                    guard try idNode.string() == "A" else {
                        throw idNode.unsupported("the single template may only use sequence A")
                    }
                    guard !seenSequence else { throw item.unsupported("sequence A appears twice in the single template") }
                    seenSequence = true
                } else {
                    throw item.malformed("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}")
                }
            }
            self = .wrap(prefix: prefix, suffix: suffix)
        case "RobertaProcessing", "BertProcessing":
            func id(_ key: String) throws -> Int {
                let node = try json.required(key)
                let pair = try node.array()
                guard pair.count == 2 else { throw node.malformed("expected [token, id]") }
                return try pair[1].int()
            }
            self = .wrap(prefix: [try id("cls")], suffix: [try id("sep")])
        case "ByteLevel":
            self = .none
        default:
            self = .sequence(try json.required("processors").array().map(PostProcessor.init(json:)))
        }
    }

    func apply(_ ids: [Int]) -> [Int] {
        switch self {
        case .wrap(let prefix, let suffix): return prefix + ids + suffix
        case .none: return ids
        case .sequence(let items): return items.reduce(ids) { $1.apply($0) }
        }
    }

    /// The ids added before and after a sequence, or nil if nothing is added.
    var wrapping: (prefix: [Int], suffix: [Int]) {
        switch self {
        case .wrap(let p, let s): return (p, s)
        case .none: return ([], [])
        case .sequence(let items):
            // Later processors wrap the output of earlier ones.
            return items.reduce(into: ([Int](), [Int]())) { acc, item in
                let w = item.wrapping
                acc = (w.prefix + acc.0, acc.1 + w.suffix)
            }
        }
    }
}
