import Checkpoints
import Foundation
import Tokenizers

/// lm-eval's request tokenization (api/model.py _encode_pair, huggingface.py tok_encode), needing
/// only a tokenizer: NativeBackend and the remote backend both use it, so a remote run scores
/// exactly the token sequences a native run scores.
public struct RequestEncoder: Sendable {
    public let tokenizer: Tokenizer
    /// lm-eval's prefix_token_id: BOS, else EOS.
    public let prefixToken: Int
    public let bosToken: Int?
    public let eosToken: Int?
    let prefixText: String
    /// xxh64 of tokenizer.json when loaded from a directory ("" otherwise): part of a remote
    /// checkpoint's identity, since it decides every request's tokens.
    public internal(set) var contentHash = ""

    public init(tokenizer: Tokenizer, bosToken: Int?, eosToken: Int?) throws {
        self.tokenizer = tokenizer
        self.bosToken = bosToken ?? tokenizer.bosTokenId
        self.eosToken = eosToken ?? tokenizer.eosTokenId
        guard let prefix = self.bosToken ?? self.eosToken else {
            throw EvaluationError("the tokenizer has neither a BOS nor an EOS token: cannot score empty contexts or rolling windows")
        }
        prefixToken = prefix
        prefixText = tokenizer.decode([prefix])
    }

    /// With the prefix token already chosen (NativeBackend also falls back to config.json's ids).
    init(tokenizer: Tokenizer, bosToken: Int?, eosToken: Int?, prefixToken: Int) {
        self.tokenizer = tokenizer
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.prefixToken = prefixToken
        prefixText = tokenizer.decode([prefixToken])
    }

    /// bos_token / eos_token of DIR/tokenizer_config.json as ids (HF's bos_token_id comes from
    /// there, and so does lm-eval's prefix_token_id).
    static func configuredSpecialTokens(tokenizer: Tokenizer, directory: URL) -> (bos: Int?, eos: Int?) {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")),
              case .object(let cfg)? = try? JSONValue.parse(data) else { return (nil, nil) }
        func id(_ key: String) -> Int? {
            switch cfg[key] {
            case .string(let s)?: return tokenizer.tokenToId(s)
            case .object(let o)?: return o["content"]?.stringValue.flatMap(tokenizer.tokenToId)
            default: return nil
            }
        }
        return (id("bos_token"), id("eos_token"))
    }

    /// DIR/tokenizer.json with tokenizer_config.json's bos/eos (then config.json's ids), as
    /// NativeBackend.load reads them.
    public static func load(directory: String) throws -> RequestEncoder {
        let dir = URL(fileURLWithPath: directory)
        let tokURL = dir.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokURL.path) else {
            throw EvaluationError("\(directory): no tokenizer.json (the remote backend tokenizes locally with the model's tokenizer)")
        }
        let tokenizer = try Tokenizer(contentsOf: tokURL)
        let bytes = (try? Data(contentsOf: tokURL)) ?? Data()
        var (bos, eos) = configuredSpecialTokens(tokenizer: tokenizer, directory: dir)
        if let data = try? Data(contentsOf: dir.appendingPathComponent("config.json")),
           case .object(let cfg)? = try? JSONValue.parse(data) {
            if bos == nil, tokenizer.bosTokenId == nil { bos = cfg["bos_token_id"]?.intValue }
            if eos == nil, tokenizer.eosTokenId == nil {
                eos = cfg["eos_token_id"]?.intValue ?? cfg["eos_token_id"]?.arrayValue?.first?.intValue
            }
        }
        var encoder = try RequestEncoder(tokenizer: tokenizer, bosToken: bos, eosToken: eos)
        encoder.contentHash = String(format: "xxh64:%016llx", XXH64.hash([UInt8](bytes)))
        return encoder
    }

    /// The model's context length from DIR/config.json (max_position_embeddings, n_positions,
    /// max_sequence_length), else tokenizer_config.json's model_max_length; nil when unknown.
    public static func maxLength(directory: String) -> Int? {
        let dir = URL(fileURLWithPath: directory)
        if let data = try? Data(contentsOf: dir.appendingPathComponent("config.json")),
           case .object(let cfg)? = try? JSONValue.parse(data) {
            for key in ["max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"] {
                if let n = cfg[key]?.intValue, n > 0 { return n }
            }
        }
        if let data = try? Data(contentsOf: dir.appendingPathComponent("tokenizer_config.json")),
           case .object(let cfg)? = try? JSONValue.parse(data), let n = cfg["model_max_length"]?.intValue, n > 0, n < 1_000_000_000 {
            return n
        }
        return nil
    }

    /// Whether decoding a sequence that starts with a word-initial token drops its leading space
    /// (SentencePiece-style "▁" decoders with Strip; byte-level GPT-2 decoders keep it).
    public var decoderStripsLeadingSpace: Bool {
        let ids = tokenizer.encode("a b", addSpecialTokens: false)
        guard ids.count >= 2 else { return false }
        return !tokenizer.decode(Array(ids.dropFirst()), skipSpecialTokens: true).hasPrefix(" ")
    }

    /// tok_encode: add_special_tokens unless the text already starts with the prefix token's text.
    public func encode(_ text: String) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: !(!prefixText.isEmpty && text.hasPrefix(prefixText)))
    }

    /// lm-eval's _encode_pair: trailing whitespace of the context moves to the continuation;
    /// whole = enc(context + continuation), context_enc = enc(context), continuation = whole[len(context_enc):].
    /// An empty context scores the continuation (no special tokens) after the prefix token.
    public func encodePair(context: String, continuation: String) -> (context: [Int], continuation: [Int]) {
        if context.isEmpty {
            let cont = tokenizer.encode(continuation, addSpecialTokens: false)
            if let first = cont.first, first == prefixToken { return ([first], Array(cont.dropFirst())) }
            return ([prefixToken], cont)
        }
        var ctx = Array(context.unicodeScalars), cont = continuation
        var spaces = 0
        while spaces < ctx.count, PythonString.isSpace(ctx[ctx.count - 1 - spaces]) { spaces += 1 }
        if spaces > 0 {
            cont = String(String.UnicodeScalarView(ctx.suffix(spaces))) + cont
            ctx.removeLast(spaces)
        }
        let c = String(String.UnicodeScalarView(ctx))
        let whole = encode(c + cont)
        let contextEnc = encode(c)
        return (contextEnc, Array(whole.dropFirst(min(contextEnc.count, whole.count))))
    }
}
