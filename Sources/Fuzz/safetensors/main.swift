import Foundation
import Checkpoints
import FuzzSupport

// safetensors header and layout: any bytes open as a valid file or give a CheckpointError, and
// every tensor of a file that opens reads within its bounds.
FuzzDriver.main { data in
    let path = FuzzDriver.scratchFile("model.safetensors", data)
    guard let file = try? SafetensorsFile(path: path) else { return }
    for name in file.names {
        guard let info = file.tensors[name] else { continue }
        _ = file.rawBytes(info).reduce(UInt8(0), ^)
    }
}
