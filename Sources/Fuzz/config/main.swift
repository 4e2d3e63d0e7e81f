import Foundation
import Checkpoints
import Engine
import FuzzSupport

// config.json (and its bitsandbytes quantization_config): decoded and validated, or a
// CheckpointError naming the field.
FuzzDriver.main { data in
    let path = FuzzDriver.scratchFile("config.json", data)
    _ = try? ModelFamilies.decode(path: path)  // the family registry's decoding and validation
    _ = try? SavedQuantizationConfig.load(configPath: path)  // quantization_config of 4-bit checkpoints
}
