import Foundation

/// A Hugging Face tokenizer.json (BPE models) that reproduces HF `tokenizers` ids exactly.
///
/// Encoding follows HF's pipeline: cut out added tokens that match the raw text
/// (`normalized: false`), normalize each remaining piece, cut out added tokens that match the
/// normalized text, pre-tokenize into words, BPE each word, then (with `addSpecialTokens`) let
/// the post-processor add BOS/EOS. Anything this reader does not implement is refused when the
/// file is loaded, with the JSON path of the offending field, never silently mis-tokenized.
///
/// Immutable after init; `encode` may be called from many threads at once (the BPE word cache
/// is locked).
public final class Tokenizer: @unchecked Sendable {
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    let added: AddedVocabulary
    // Keyed by exact UTF-8: Swift String equality is canonical equivalence, HF's is bytes.
    private let addedIdByContent: [[UInt8]: Int]
    private let specialContents: Set<[UInt8]>
    private let normalizerSkipsASCII: Bool
    private let wrapping: (prefix: [Int], suffix: [Int])

    /// The id a sequence starts with: the first id the post-processor puts before the text
    /// (TemplateProcessing `single`, RoBERTa/BERT `cls`); failing that, the id of a special added
    /// token spelled like a BOS (`<s>`, `<|begin_of_text|>`, `<bos>`, `<|startoftext|>`, `[BOS]`).
    /// GPT-2 and GPT-NeoX files have none: callers that need one use `eosTokenId`, as
    /// lm-evaluation-harness and transformers do for those models.
    public let bosTokenId: Int?
    /// The last id the post-processor puts after the text (RoBERTa/BERT `sep`, a template's
    /// trailing special token); failing that, a special added token spelled like an EOS
    /// (`</s>`, `<|end_of_text|>`, `<|endoftext|>`, `<eos>`, `[EOS]`).
    public let eosTokenId: Int?
    /// One more than the largest id of the model vocabulary and the added tokens (the size an
    /// embedding matrix needs; HF's `get_vocab_size(True)` for dense vocabularies).
    public let vocabSize: Int

    public convenience init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError(.unreadable, path: "", "cannot read file (\(error.localizedDescription))", file: url.path)
        }
        do {
            try self.init(data: data)
        } catch let e as TokenizerError {
            throw e.inFile(url.path)
        }
    }

    public convenience init(data: Data) throws {
        try self.init(json: try JSONNode.parse(data))
    }

    /// `useScanners: false` runs the known Split regexes through NSRegularExpression instead of
    /// the hand-written scanners (for the tests that check the two agree).
    init(json root: JSONNode, useScanners: Bool = true) throws {
        for key in ["truncation", "padding"] {
            if let node = try root.optional(key) {
                throw node.unsupported("\(key) must be null: truncating or padding changes encode's ids")
            }
        }
        normalizer = try root.optional("normalizer").map(Normalizer.init(json:))
        let pre = try root.optional("pre_tokenizer").map { try PreTokenizer(json: $0, useScanners: useScanners) }
        if let pre, !pre.byteLevelIsLast {
            throw TokenizerError(.unsupported, path: "pre_tokenizer", "a ByteLevel pre-tokenizer must be the last step of the sequence")
        }
        preTokenizer = pre
        postProcessor = try root.optional("post_processor").map(PostProcessor.init(json:))
        decoder = try root.optional("decoder").map(Decoder.init(json:))
        model = try BPEModel(json: try root.required("model"), byteLevel: pre?.usesByteLevel ?? false)

        let addedTokens = try root.optional("added_tokens")?.array().map(AddedToken.init(json:)) ?? []
        added = AddedVocabulary(tokens: addedTokens, normalizer: normalizer)
        var byContent: [[UInt8]: Int] = [:]
        for t in addedTokens { byContent[Array(t.content.utf8)] = t.id }
        addedIdByContent = byContent
        specialContents = Set(addedTokens.filter(\.special).map { Array($0.content.utf8) })
        normalizerSkipsASCII = normalizer?.isIdentityOnASCII ?? true

        wrapping = postProcessor?.wrapping ?? ([], [])
        func special(_ names: [String]) -> Int? {
            for name in names {
                if let t = addedTokens.first(where: { $0.special && Array($0.content.utf8) == Array(name.utf8) }) { return t.id }
            }
            return nil
        }
        bosTokenId = wrapping.prefix.first ?? special(["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>", "[BOS]"])
        eosTokenId = wrapping.suffix.last ?? special(["</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "[EOS]"])
        let maxModel = model.tokens.keys.max() ?? -1
        let maxAdded = addedTokens.map(\.id).max() ?? -1
        vocabSize = max(maxModel, maxAdded) + 1
    }

    // MARK: - Encoding

    /// Token ids of `text`. With `addSpecialTokens` the post-processor's BOS/EOS are added.
    /// Text spelling an added token ("<|endoftext|>", "<s>") always becomes that token, as in HF.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        var scratch = BPEModel.Scratch()
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { b in
            added.split(b, with: added.rawMatcher) { segment in
                switch segment {
                case .token(let id): ids.append(id)
                case .text(let s, let e): encodePiece(bytes[s..<e], atStart: s == 0, &ids, &scratch)
                }
            }
        }
        if addSpecialTokens && !(wrapping.prefix.isEmpty && wrapping.suffix.isEmpty) {
            return wrapping.prefix + ids + wrapping.suffix
        }
        return ids
    }

    /// Normalizes a piece of raw text, cuts out the normalized added tokens, and encodes the rest.
    private func encodePiece(_ raw: ArraySlice<UInt8>, atStart: Bool, _ ids: inout [Int], _ scratch: inout BPEModel.Scratch) {
        var text = raw
        if let normalizer, !(normalizerSkipsASCII && raw.allSatisfy({ $0 < 0x80 })) {
            text = Array(normalizer.normalize(String(decoding: raw, as: UTF8.self)).utf8)[...]
        }
        guard !text.isEmpty else { return }
        let base = text.startIndex
        text.withUnsafeBufferPointer { b in
            added.split(b, with: added.normalizedMatcher) { segment in
                switch segment {
                case .token(let id): ids.append(id)
                case .text(let s, let e):
                    let piece = Piece(bytes: text[(base + s)..<(base + e)], atStart: atStart && s == 0)
                    encodeWords(piece, &ids, &scratch)
                }
            }
        }
    }

    private func encodeWords(_ piece: Piece, _ ids: inout [Int], _ scratch: inout BPEModel.Scratch) {
        guard let preTokenizer else {
            piece.bytes.withUnsafeBufferPointer { model.encode(word: $0, into: &ids, scratch: &scratch) }
            return
        }
        var pieces = [piece]
        preTokenizer.apply(&pieces)
        for p in pieces {
            p.bytes.withUnsafeBufferPointer { model.encode(word: $0, into: &ids, scratch: &scratch) }
        }
    }

    // MARK: - Decoding and lookups

    /// Text of `ids` through the tokenizer's decoder (HF `decode`). With `skipSpecialTokens`,
    /// tokens spelled like a special added token are left out.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            let token: String
            if let t = added.token(id: id) {
                token = added.decodedForm[id] ?? t.content
            } else if let t = model.tokens[id] {
                token = t
            } else {
                continue  // unknown ids are dropped, as in HF
            }
            if skipSpecialTokens && specialContents.contains(Array(token.utf8)) { continue }
            tokens.append(token)
        }
        return decoder?.decode(tokens) ?? tokens.joined(separator: " ")
    }

    public func tokenToId(_ token: String) -> Int? {
        let bytes = Array(token.utf8)
        return addedIdByContent[bytes] ?? model.vocab.get(bytes).map(Int.init)
    }

    public func idToToken(_ id: Int) -> String? {
        added.token(id: id)?.content ?? model.tokens[id]
    }
}
