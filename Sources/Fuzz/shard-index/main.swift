import Checkpoints
import Foundation
import FuzzSupport

// A sharded checkpoint's model.safetensors.index.json beside one valid shard.
let shard: Data = {
    // One F32 tensor "a" of shape [2]: 8-byte header length, JSON header, 8 bytes of data.
    let header = Data(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
    var d = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { d.append(contentsOf: $0) }
    return d + header + Data(count: 8)
}()

FuzzDriver.main { data in
    let dir = (FuzzDriver.scratchFile("sharded/model-00001-of-00001.safetensors", shard) as NSString).deletingLastPathComponent
    _ = FuzzDriver.scratchFile("sharded/model.safetensors.index.json", data)
    guard let store = try? TensorStore.open(dir) else { return }
    for name in store.names { _ = try? store.floats(name) }
}
