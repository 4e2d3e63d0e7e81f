import Evaluation
import Foundation
import FuzzSupport

// A task YAML file beside a small data file: parsed and validated (templates included), or a
// TaskDefinitionError naming the file.
let rows = Data(#"""
{"question": "Which?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "B", "label": 1}
{"question": "Other?", "choices": {"text": ["c", "d"], "label": ["A", "B"]}, "answerKey": "A", "label": 0}
"""#.utf8)

FuzzDriver.main { data in
    _ = FuzzDriver.scratchFile("task/data.jsonl", rows)
    _ = try? TaskDefinition.load(path: FuzzDriver.scratchFile("task/task.yaml", data))
}
