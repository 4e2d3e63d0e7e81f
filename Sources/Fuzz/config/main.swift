import Foundation
import Checkpoints
import FuzzSupport

// config.json (and its bitsandbytes quantization_config): decoded and validated, or a
// CheckpointError naming the field.
FuzzDriver.main { data in
    let path = FuzzDriver.scratchFile("config.json", data)
    _ = try? ModelConfig.load(path: path)
    _ = try? SavedQuantizationConfig.load(configPath: path)  // quantization_config of 4-bit checkpoints
}
