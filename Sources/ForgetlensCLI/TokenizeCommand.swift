import ArgumentParser
import Foundation
import Tokenizers

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Token ids of JSON strings read one per line on stdin, exactly as Hugging Face tokenizers gives them.",
        discussion: """
        Prints one JSON array of ids per input line. By default special tokens are added as the
        tokenizer's post-processor says (HF's encode(text)); --no-special-tokens is
        encode(text, add_special_tokens=False).
        """
    )

    @Option(help: "A Hugging Face tokenizer.json (or a model directory containing one).")
    var tokenizer: String

    @Flag(name: .customLong("no-special-tokens"), help: "Do not add BOS/EOS from the post-processor.")
    var noSpecialTokens = false

    @Option(help: "Benchmark: encode every JSON string of this file once, single-threaded, and print {\"tokens\": N, \"seconds\": S}.")
    var bench: String?

    func run() throws {
        var path = tokenizer
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            path = URL(fileURLWithPath: path).appendingPathComponent("tokenizer.json").path
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("\(path): tokenizer file not found")
        }
        let loaded = try Tokenizer(contentsOf: URL(fileURLWithPath: path))
        if let bench {
            let strings = try TokenizeLines.readStrings(from: URL(fileURLWithPath: bench))
            let result = TokenizeLines.benchmark(tokenizer: loaded, strings: strings, addSpecialTokens: !noSpecialTokens)
            print("{\"tokens\": \(result.tokens), \"seconds\": \(result.seconds), \"strings\": \(strings.count)}")
            return
        }
        try TokenizeLines.run(tokenizer: loaded, input: .standardInput, output: .standardOutput,
                              addSpecialTokens: !noSpecialTokens)
    }
}
