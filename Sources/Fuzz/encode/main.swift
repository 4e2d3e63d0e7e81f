import Foundation
import FuzzSupport
import Tokenizers

// Arbitrary text (any bytes, decoded as UTF-8 with replacement) through two real tokenizers: a
// byte-level one (GPT-NeoX-20B) and a SentencePiece-style one with byte fallback. Encoding must
// never trap, and byte-level decoding must give the text back.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/tokenizers")
let neox = try! Tokenizer(contentsOf: root.appendingPathComponent("gpt-neox-20b.json"))
let llama2 = try! Tokenizer(contentsOf: root.appendingPathComponent("llama2-style.json"))

FuzzDriver.main { data in
    let text = String(decoding: data, as: UTF8.self)
    let ids = neox.encode(text, addSpecialTokens: false)
    let back = neox.decode(ids)
    if !text.contains("<|"), back != text { fatalError("byte-level round trip changed the text") }
    _ = llama2.decode(llama2.encode(text))
}
