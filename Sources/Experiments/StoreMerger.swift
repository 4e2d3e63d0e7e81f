import Evaluation
import Foundation
import GRDB

/// `forgetlens merge OUT IN...`: one store from the stores of an experiment's shards (or of
/// whole runs on different machines). Stores must answer the same experiment definition and
/// agree on every checkpoint's fingerprint; rows that several stores hold are kept once. Then
/// every task whose documents are now all present gets its aggregate, computed from the stored
/// items by the evaluator's own code (no model is loaded). OUT is written to a temporary file
/// and renamed into place: it is either the old store or the complete merge, never a mix.
public enum StoreMerger {
    public struct Summary: Sendable {
        public var inputs = 0
        /// Item rows copied, and rows already present with the same outcomes.
        public var itemsAdded = 0
        public var itemsDuplicate = 0
        /// Rows present with different outcomes (kept: the first store's); largest |delta ll|.
        public var itemsConflicting = 0
        public var maxConflictDelta = 0.0
        public var spectraAdded = 0
        public var spectraDuplicate = 0
        /// Task aggregates computed now, and (label, task, present, total) still incomplete.
        public var aggregatesFinished = 0
        public var incomplete: [(label: String, task: String, present: Int, total: Int)] = []
        public var notes: [String] = []
    }

    /// `codeChecks`: runs the stored programs of code tasks again for their aggregates (the user's
    /// consent, merge --allow-code-execution); without it a code task's aggregate is an error.
    public static func merge(into output: String, from inputs: [String], catalog: TaskCatalog, toolVersion: String,
                             codeChecks: ProgramChecks? = nil) throws -> Summary {
        guard !inputs.isEmpty else { throw ExperimentError(file: output, line: nil, "no input stores to merge") }
        let outURL = URL(fileURLWithPath: output).standardized
        var seen = Set<String>()
        for path in inputs {
            let p = URL(fileURLWithPath: path).standardized.path
            guard p != outURL.path else { throw ExperimentError(file: path, line: nil, "is both the output and an input; list it once, as the output") }
            guard seen.insert(p).inserted else { throw ExperimentError(file: path, line: nil, "is listed twice") }
            guard FileManager.default.fileExists(atPath: p) else { throw ExperimentError(file: path, line: nil, "no such results store") }
        }
        // Everything is checked before anything is written.
        var sources = try inputs.map { try StoreSnapshot(path: $0) }
        if FileManager.default.fileExists(atPath: outURL.path) {
            let existing = try StoreSnapshot(path: outURL.path)
            if existing.definition != nil || !existing.checkpoints.isEmpty { sources.insert(existing, at: 0) }
        }
        let definition = try agreedDefinition(sources)
        try checkFingerprints(sources)

        let directory = outURL.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        removeAbandonedTemporaries(of: outURL)
        let temp = directory.appendingPathComponent(".\(outURL.lastPathComponent).merging-\(ProcessInfo.processInfo.processIdentifier)").path
        removeDatabase(temp)
        // The old OUT's WAL is folded into it first: its -wal is removed before the rename
        // below, and a merge killed in between must not lose what only the WAL held.
        if FileManager.default.fileExists(atPath: outURL.path + "-wal") {
            do {
                let queue = try DatabaseQueue(path: outURL.path)
                try queue.writeWithoutTransaction { _ = try Row.fetchAll($0, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
                try queue.close()
            } catch let e as DatabaseError {
                throw ExperimentError(file: output, line: nil, "cannot fold the store's WAL into it: \(e.message ?? e.description)")
            }
        }
        var summary = Summary()
        do {
            let store = try ResultsStore(path: temp)
            try store.db.writeWithoutTransaction { db in
                for source in sources {
                    // The old OUT's own rows are not news: count only what the inputs bring.
                    if source.path == outURL.path {
                        var scratch = Summary()
                        try copy(source.path, into: db, summary: &scratch)
                    } else {
                        try copy(source.path, into: db, summary: &summary)
                    }
                }
                try db.inTransaction {
                    var run = RunRecord(id: nil, toolVersion: toolVersion, experiment: definition.def.name,
                                        options: mergeOptions(sources.map(\.path)), startedAt: Date(), finishedAt: Date(), status: "merged")
                    try run.insert(db)
                    try db.execute(sql: "INSERT OR REPLACE INTO experiment_definition (id, hash, json, updated_at) VALUES (1, ?, ?, ?)",
                                   arguments: [definition.def.hash, definition.json, Date()])
                    return .commit
                }
            }
            summary.inputs = inputs.count
            try finishAggregates(store: store, definition: definition.def, catalog: catalog, summary: &summary, codeChecks: codeChecks)
            // The merged store as one self-contained file (its WAL folded in), then renamed into place.
            let final = temp + ".final"
            removeDatabase(final)
            try store.db.writeWithoutTransaction { try $0.execute(sql: "VACUUM INTO ?", arguments: [final]) }
            try store.close()
            removeDatabase(temp)
            // A -wal left beside the old OUT would be replayed onto the new file: remove it
            // (its contents were read through SQLite above).
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: outURL.path + suffix) }
            guard rename(final, outURL.path) == 0 else {
                removeDatabase(final)
                throw ExperimentError(file: output, line: nil, "cannot move the merged store into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            removeDatabase(temp)
            throw error
        }
        return summary
    }

    // MARK: checks

    /// What merge needs to know about a store before writing anything.
    struct StoreSnapshot {
        let path: String
        let definition: (hash: String, json: String)?
        let checkpoints: [String: String]

        init(path: String) throws {
            self.path = path
            var config = Configuration()
            config.readonly = true
            do {
                let queue = try DatabaseQueue(path: path, configuration: config)
                (definition, checkpoints) = try queue.read { db in
                    guard try db.tableExists("checkpoints") else {
                        throw ExperimentError(file: path, line: nil, "not a forgetlens results store (no checkpoints table)")
                    }
                    let d = try db.tableExists("experiment_definition")
                        ? try Row.fetchOne(db, sql: "SELECT hash, json FROM experiment_definition WHERE id = 1").map {
                            (hash: try StoreText.read($0, "hash", field: "experiment_definition.hash", store: path),
                             json: try StoreText.read($0, "json", field: "experiment_definition.json", store: path))
                        }
                        : nil
                    let c = try Row.fetchAll(db, sql: "SELECT label, fingerprint FROM checkpoints")
                    return (d, Dictionary(try c.map { (try StoreText.read($0, "label", field: "checkpoints.label", store: path),
                                                         try StoreText.read($0, "fingerprint", field: "checkpoints.fingerprint", store: path)) },
                                          uniquingKeysWith: { a, _ in a }))
                }
                try queue.close()
            } catch let e as DatabaseError {
                throw ExperimentError(file: path, line: nil, "cannot read the results store: \(e.message ?? e.description)")
            }
        }
    }

    static func agreedDefinition(_ sources: [StoreSnapshot]) throws -> (def: ExperimentDefinition, json: String) {
        for s in sources where s.definition == nil {
            throw ExperimentError(file: s.path, line: nil, "has no experiment definition (written by forgetlens before 0.2, or never run): rerun `forgetlens run` on it first")
        }
        let first = sources[0]
        let firstDef = try ExperimentDefinition.decode(first.definition!.json, file: first.path)
        for s in sources.dropFirst() where s.definition!.hash != first.definition!.hash {
            let other = try ExperimentDefinition.decode(s.definition!.json, file: s.path)
            let why = firstDef.differences(from: other)
            throw ExperimentError(file: s.path, line: nil, "answers a different experiment definition than \(first.path): "
                                  + (why.isEmpty ? "the definitions differ" : why.joined(separator: "; "))
                                  + ". Rerun every shard with the same experiment file, then merge.")
        }
        return (firstDef, first.definition!.json)
    }

    static func checkFingerprints(_ sources: [StoreSnapshot]) throws {
        var owner: [String: (fingerprint: String, path: String)] = [:]
        for s in sources {
            for (label, fp) in s.checkpoints.sorted(by: { $0.key < $1.key }) {
                if let o = owner[label], o.fingerprint != fp {
                    throw ExperimentError(file: s.path, line: nil, "checkpoint '\(label)' has fingerprint \(fp) here but \(o.fingerprint) in \(o.path): its files (or the served model) changed between the runs; rerun the stale shards")
                }
                owner[label] = (fp, s.path)
            }
        }
    }

    // MARK: copying

    /// Copies one store's rows into `db` (the new store), de-duplicating on each table's key.
    static func copy(_ path: String, into db: Database, summary: inout Summary) throws {
        try db.execute(sql: "ATTACH DATABASE ? AS src", arguments: [path])
        defer { try? db.execute(sql: "DETACH DATABASE src") }
        try db.inTransaction {
            let itemKey = "fingerprint, task, task_hash, fewshot, doc_id"
            // Rows both hold: identical outcomes are duplicates; different ones are conflicts
            // (a server that is not deterministic, or two engines): the first store's row stays.
            let both = try Row.fetchAll(db, sql: """
                SELECT m.outcomes AS a, s.outcomes AS b, m.generation AS ga, s.generation AS gb
                FROM src.item_results s JOIN main.item_results m USING (\(itemKey))
                """)
            for r in both {
                let a = try StoreText.optional(r, "a", field: "item_results.outcomes", store: path)
                let b = try StoreText.optional(r, "b", field: "item_results.outcomes", store: path)
                let ga = try StoreText.optional(r, "ga", field: "item_results.generation", store: path)
                let gb = try StoreText.optional(r, "gb", field: "item_results.generation", store: path)
                if a == b && ga == gb { summary.itemsDuplicate += 1; continue }
                summary.itemsConflicting += 1
                summary.maxConflictDelta = max(summary.maxConflictDelta, delta(a, b))
            }
            let columns = try db.columns(in: "item_results").map(\.name)
            let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM main.item_results") ?? 0
            // New rows; and metrics for a row stored raw (a shard killed between scoring and
            // metrics) when the other store has them for the same outcomes.
            try db.execute(sql: """
                INSERT INTO main.item_results (\(list)) SELECT \(list) FROM src.item_results WHERE true
                ON CONFLICT(\(itemKey)) DO UPDATE SET metrics = excluded.metrics, gold = excluded.gold, target = excluded.target,
                    acc = excluded.acc, acc_norm = excluded.acc_norm
                WHERE item_results.metrics IS NULL AND excluded.metrics IS NOT NULL
                    AND item_results.outcomes IS excluded.outcomes AND item_results.generation IS excluded.generation
                """)
            summary.itemsAdded += (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM main.item_results") ?? 0) - before

            let spectraBefore = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM main.spectra") ?? 0
            let incoming = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM src.spectra") ?? 0
            for table in ["checkpoints", "task_results", "spectra", "spectra_passes", "weight_spectra"] {
                let sourceHas = try Set(Row.fetchAll(db, sql: "PRAGMA src.table_info(\(table))").map { $0["name"] as String })
                if sourceHas.isEmpty { continue }  // a store from before the table existed
                // Older stores lack newer columns (checkpoints.served_model): those stay NULL.
                let shared = try db.columns(in: table).map(\.name).filter(sourceHas.contains).map { "\"\($0)\"" }.joined(separator: ", ")
                try db.execute(sql: "INSERT OR IGNORE INTO main.\(table) (\(shared)) SELECT \(shared) FROM src.\(table)")
            }
            let spectraAdded = (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM main.spectra") ?? 0) - spectraBefore
            summary.spectraAdded += spectraAdded
            summary.spectraDuplicate += incoming - spectraAdded
            try db.execute(sql: """
                INSERT INTO main.runs (tool_version, experiment, options, started_at, finished_at, status)
                SELECT tool_version, experiment, options, started_at, finished_at, status FROM src.runs ORDER BY id
                """)
            return .commit
        }
    }

    /// Largest |difference| of the log-likelihoods of two stored outcome lists (infinity when
    /// their shapes differ or one is a generation).
    static func delta(_ a: String?, _ b: String?) -> Double {
        let decoder = JSONDecoder()
        guard let a, let b, let x = try? decoder.decode([ChoiceOutcome].self, from: Data(a.utf8)),
              let y = try? decoder.decode([ChoiceOutcome].self, from: Data(b.utf8)), x.count == y.count else { return .infinity }
        return zip(x, y).map { abs($0.loglikelihood - $1.loglikelihood) }.max() ?? 0
    }

    static func mergeOptions(_ paths: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: ["merged": paths], options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Temporary stores of earlier merges into the same OUT that were killed (their process is
    /// gone): a kill leaves `.OUT.merging-PID[.final]` behind, which nothing else would remove.
    static func removeAbandonedTemporaries(of out: URL) {
        let directory = out.deletingLastPathComponent().path
        let prefix = ".\(out.lastPathComponent).merging-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
            guard let pid = Int32(digits), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    // MARK: aggregates

    /// Each (checkpoint, task) of the definition whose documents are all stored and that has no
    /// aggregate yet gets one: the Evaluator runs over the stored items exactly as `run` does.
    static func finishAggregates(store: ResultsStore, definition: ExperimentDefinition, catalog: TaskCatalog, summary: inout Summary,
                                 codeChecks: ProgramChecks? = nil) throws {
        let labels = ["base"] + definition.variants.map(\.label)
        let checkpoints = Dictionary(uniqueKeysWithValues: try store.checkpoints().map { ($0.label, $0) })
        for label in labels {
            guard let cp = checkpoints[label] else {
                summary.notes.append("\(label): no stored results in any input")
                continue
            }
            // targets, probes, then the other tasks of the definition (diversity tasks)
            let ordered = definition.targets + definition.probes.filter { !definition.targets.contains($0) }
            for task in ordered + definition.tasks.keys.sorted().filter({ !ordered.contains($0) }) {
                guard let entry = definition.tasks[task] else { continue }
                let key = ResultsStore.TaskKey(fingerprint: cp.fingerprint, task: task, taskHash: entry.hash, fewshot: entry.fewshot)
                if let done = try store.taskResult(key, limit: entry.limit), done.documents == entry.documents { continue }
                let present = try store.storedCount(key, in: 0..<entry.documents)
                guard present == entry.documents else {
                    summary.incomplete.append((label, task, present, entry.documents))
                    continue
                }
                // a sampled task's stored hash is the content hash + its sampling suffix (Experiment.taskHash)
                // a task of the experiment's own task_paths is only known when merge was given them
                guard catalog.names.contains(task) else {
                    summary.notes.append("\(label) \(task): no such task among the built-in ones or the --include-path directories; pass the experiment's task_paths with --include-path DIR to compute its aggregate (or leave it to `forgetlens run`)")
                    continue
                }
                guard try entry.hash == catalog.hash(task) || entry.hash.hasPrefix(catalog.hash(task) + "|sample:") else {
                    summary.notes.append("\(label) \(task): the task's definition or data changed since the shards ran; its aggregate is left to `forgetlens run`")
                    continue
                }
                let limit = entry.limit == 0 ? nil : entry.limit
                let (result, items) = try store.replay(try catalog.task(task), key: key, documents: entry.documents, limit: limit, label: label,
                                                       codeChecks: codeChecks)
                try store.saveMetrics(result, key: key, limit: limit, cached: items, aggregate: true)
                summary.aggregatesFinished += 1
            }
        }
    }
}
