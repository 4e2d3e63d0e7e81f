import Foundation
import Checkpoints
import FuzzSupport

// adapter_config.json: PEFT options, rank/alpha patterns (regexes) and the scaling they give.
FuzzDriver.main { data in
    guard let config = try? AdapterConfig.load(path: FuzzDriver.scratchFile("adapter_config.json", data)) else { return }
    for module in ["model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj", "transformer.h.0.attn.c_attn"] {
        guard let (r, a) = try? config.rankAndAlpha(module: module) else { break }
        if r > 0 { _ = config.scaling(rank: r, alpha: a) }
    }
}
