import Foundation
import Evaluation
import FuzzSupport

// Jinja-style prompt templates: parse, then render against a document.
let document: JSONObject = {
    guard case .object(let o) = try! JSONValue.parse(#"{"question": "Which?", "choices": {"text": ["a", "b c"], "label": ["A", "B"]}, "answerKey": "B", "n": 3, "flag": true, "x": null}"#) else { fatalError() }
    return o
}()

FuzzDriver.main { data in
    guard let template = try? Template(String(decoding: data, as: UTF8.self)) else { return }
    _ = try? template.render(document)
}
