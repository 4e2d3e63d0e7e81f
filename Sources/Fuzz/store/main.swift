import Experiments
import Foundation
import FuzzSupport

// A results store whose bytes are anything (a corrupted or foreign SQLite file): opening it
// either refuses with an error naming it, or every read `status` and `report` make works.
FuzzDriver.main { data in
    let path = FuzzDriver.scratchFile("store/results.sqlite", data)
    for suffix in ["-wal", "-shm"] { unlink(path + suffix) }
    guard let store = try? ResultsStore(path: path) else { return }
    _ = try? store.counts()
    _ = try? store.checkpoints()
    _ = try? store.definition()
    _ = try? store.allTaskResults()
    _ = try? store.allSpectra()
    _ = try? store.allItems()
    try? store.close()
}
