import Foundation
import Checkpoints
import FuzzSupport

// config.json: decoded and validated, or a CheckpointError naming the field.
FuzzDriver.main { data in
    _ = try? ModelConfig.load(path: FuzzDriver.scratchFile("config.json", data))
}
