import Foundation
import FuzzSupport
import Tokenizers

// tokenizer.json: loads (models, normalizers, pre-tokenizers, added tokens, post-processors) or
// throws; a tokenizer that loads encodes and decodes ordinary text.
FuzzDriver.main { data in
    guard let tokenizer = try? Tokenizer(data: data) else { return }
    for text in ["Hello world", " a  b\n\tc", "<s>x</s>", "naïve 日本語 🙂", ""] {
        _ = tokenizer.decode(tokenizer.encode(text))
    }
}
