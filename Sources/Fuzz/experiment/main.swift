import Experiments
import Foundation
import FuzzSupport

// Experiment YAML: parsed and validated with line numbers, or an ExperimentError. Relative
// paths resolve against a scratch directory that has a base model folder.
FuzzDriver.main { data in
    let file = FuzzDriver.scratchFile("experiment/exp.yaml", data)
    _ = FuzzDriver.scratchFile("experiment/base/config.json", Data("{}".utf8))
    _ = try? Experiment.parse(String(decoding: data, as: UTF8.self), file: file,
                              knownTasks: ["hellaswag", "winogrande", "arc_challenge", "basic_arithmetic"])
}
