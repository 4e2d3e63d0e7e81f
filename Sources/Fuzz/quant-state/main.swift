import Checkpoints
import Foundation
import FuzzSupport

// A saved bitsandbytes 4-bit checkpoint (weights, absmax, quant_map, nested tables and the
// quant_state JSON as uint8 tensors): every quantized weight reads and dequantizes, or gives a
// CheckpointError naming the tensor.
FuzzDriver.main { data in
    let path = FuzzDriver.scratchFile("four-bit/model.safetensors", data)
    guard let store = try? TensorStore.open((path as NSString).deletingLastPathComponent) else { return }
    for name in store.names where FourBitCheckpoint.stateTensor(name, in: store) != nil {
        guard let tensor = try? FourBitCheckpoint.read(name, store: store) else { continue }
        _ = tensor.dequantized()
    }
}
