import Checkpoints
import Foundation
import GRDB

/// The schema, in one place: every table and its migrations.
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("tool_version", .text).notNull()
                t.column("experiment", .text).notNull()
                t.column("options", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime)
                t.column("status", .text).notNull()
            }
            try db.create(table: "checkpoints") { t in
                t.primaryKey("label", .text)
                t.column("method", .text).notNull()
                t.column("rank", .integer)
                t.column("step", .integer)
                t.column("tokens", .integer)
                t.column("model_path", .text).notNull()
                t.column("adapter_path", .text)
                t.column("fingerprint", .text).notNull().indexed()
                t.column("is_base", .boolean).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(table: "item_results") { t in
                t.column("fingerprint", .text).notNull()
                t.column("task", .text).notNull()
                t.column("task_hash", .text).notNull()
                t.column("fewshot", .integer).notNull()
                t.column("doc_id", .integer).notNull()
                t.column("outcomes", .jsonText)
                t.column("generation", .text)
                t.column("gold", .integer)
                t.column("target", .text)
                t.column("metrics", .jsonText)
                t.column("acc", .double)
                t.column("acc_norm", .double)
                t.primaryKey(["fingerprint", "task", "task_hash", "fewshot", "doc_id"])
            }
            try db.create(table: "task_results") { t in
                t.column("fingerprint", .text).notNull()
                t.column("task", .text).notNull()
                t.column("task_hash", .text).notNull()
                t.column("fewshot", .integer).notNull()
                t.column("limit", .integer).notNull()
                t.column("documents", .integer).notNull()
                t.column("metrics", .jsonText).notNull()
                t.column("computed_at", .datetime).notNull()
                t.primaryKey(["fingerprint", "task", "task_hash", "fewshot", "limit"])
            }
            try db.create(table: "spectra") { t in
                t.column("base_fingerprint", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("tensor", .text).notNull()
                t.column("variance", .double).notNull()
                t.column("kind", .text).notNull()
                t.column("rows", .integer).notNull()
                t.column("cols", .integer).notNull()
                t.column("singular_values", .jsonText).notNull()
                t.column("rank90", .integer).notNull()
                t.column("gaussian_rank90", .integer).notNull()
                t.column("stable_rank", .double).notNull()
                t.column("effective_rank", .double).notNull()
                t.column("frobenius_norm", .double).notNull()
                t.column("spectral_norm", .double).notNull()
                t.column("relative_change", .double)
                t.primaryKey(["base_fingerprint", "fingerprint", "tensor", "variance"])
            }
            try db.create(table: "spectra_passes") { t in
                t.column("base_fingerprint", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("variance", .double).notNull()
                t.column("modules", .text).notNull()
                t.column("tensors", .integer).notNull()
                t.primaryKey(["base_fingerprint", "fingerprint", "variance", "modules"])
            }
        }
        m.registerMigration("v2") { db in
            // One row: the definition the store's results answer (merge compares it).
            try db.create(table: "experiment_definition") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("hash", .text).notNull()
                t.column("json", .text).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            // The name a checkpoint is served under when an OpenAI-compatible server scored it.
            try db.alter(table: "checkpoints") { t in t.add(column: "served_model", .text) }
        }
        m.registerMigration("v3") { db in
            // Content fingerprints by the files' stat key (Checkpoints.Fingerprint.statKey).
            try db.create(table: "fingerprint_cache") { t in
                t.primaryKey("stat_key", .text)
                t.column("fingerprint", .text).notNull()
                t.column("computed_at", .datetime).notNull()
            }
        }
        m.registerMigration("v4") { db in
            // W_base, W_ft, G and W_base + G spectra of the chosen tensors (spectra.weights).
            try db.create(table: "weight_spectra") { t in
                t.column("base_fingerprint", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("tensor", .text).notNull()
                t.column("base_singular_values", .jsonText).notNull()
                t.column("finetuned_singular_values", .jsonText).notNull()
                t.column("gaussian_singular_values", .jsonText).notNull()
                t.column("base_plus_gaussian_singular_values", .jsonText).notNull()
                t.column("gaussian_seed", .text).notNull()
                t.primaryKey(["base_fingerprint", "fingerprint", "tensor"])
            }
        }
        return m
    }
}

/// One SQLite database per experiment (WAL): every finished unit of work is its own transaction,
/// so a killed run loses at most the unit in flight.
public final class ResultsStore: @unchecked Sendable {
    public let path: String
    let db: DatabasePool

    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(30)
        let existed = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int).flatMap { $0 } ?? 0 > 0
        do {
            db = try DatabasePool(path: path, configuration: config)  // a pool is always in WAL mode
            if existed { try Self.checkExisting(db, path: path) }
            try Self.migrate(db)
        } catch let e as DatabaseError {
            throw ExperimentError(file: path, line: nil, "cannot open the results store: \(e.message ?? e.description)")
        }
    }

    /// A store people rely on for weeks is checked before use: damaged pages would otherwise read
    /// as fewer stored documents ("all stored" with results missing) or fail later with errors
    /// naming no file, and another SQLite database must not get our tables added to it.
    static func checkExisting(_ db: DatabasePool, path: String) throws {
        let (problems, tables) = try db.read { db -> ([String], [String]) in
            let problems = try String.fetchAll(db, sql: "PRAGMA quick_check(5)")
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            return (problems, tables)
        }
        if problems != ["ok"] {
            throw ExperimentError(file: path, line: nil, "the results store is damaged (SQLite quick_check: \(problems.joined(separator: "; "))); "
                + "restore it from a copy, or move it aside to start a new one (its results would be lost)")
        }
        if !tables.isEmpty && !tables.contains("grdb_migrations") {
            throw ExperimentError(file: path, line: nil, "is an SQLite database but not a forgetlens results store "
                + "(tables: \(tables.sorted().prefix(5).joined(separator: ", "))); name another --store")
        }
    }

    /// Two processes opening a new store at the same moment (a `run` and a `report`, two
    /// shards given one --store) both see it unmigrated and one fails creating a table the other
    /// just made. Each migration is its own transaction (with its grdb_migrations row), so:
    /// retry while the other process is making progress, until every migration is applied. A
    /// failure with no migration applied meanwhile is not a race (a store whose tables
    /// contradict its migration records) and fails at once, not after 50 retries.
    static func migrate(_ db: DatabasePool) throws {
        let migrator = StoreSchema.migrator
        for attempt in 0... {
            let before = try db.read { try migrator.appliedIdentifiers($0) }
            do { return try migrator.migrate(db) } catch {
                let (done, after) = try db.read { (try migrator.hasCompletedMigrations($0), try migrator.appliedIdentifiers($0)) }
                if done { return }
                if after == before || attempt >= 50 { throw error }
                usleep(100_000)
            }
        }
    }

    /// Every read and write of the store goes through these two, so a failure (disk full, a
    /// damaged page, a lock held too long) names the store instead of only SQLite's words.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let e as DatabaseError { throw named(e) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.write(body) } catch let e as DatabaseError { throw named(e) }
    }

    private func named(_ e: DatabaseError) -> ExperimentError {
        let hint: String
        switch e.resultCode {
        case .SQLITE_FULL: hint = ": the disk is full; free space and run again (what was committed is kept)"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: hint = ": the store is damaged"
        case .SQLITE_BUSY, .SQLITE_LOCKED: hint = ": another process holds the store"
        case .SQLITE_READONLY: hint = ": the store is read-only"
        case .SQLITE_IOERR: hint = ": an I/O error (a full or failing disk?)"
        default: hint = ""
        }
        return ExperimentError(file: path, line: nil, "results store: \(e.message ?? "\(e.resultCode)")\(hint)")
    }

    /// Closes the database (checkpointing the WAL into the file); the store is unusable after.
    public func close() throws { try db.close() }

    /// Opens an existing store read-only-ish (fails if it does not exist).
    public static func existing(path: String) throws -> ResultsStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExperimentError(file: path, line: nil, "no results store yet: run `forgetlens run` on the experiment first")
        }
        return try ResultsStore(path: path)
    }

    // MARK: runs and checkpoints

    public func beginRun(toolVersion: String, experiment: String, options: String) throws -> Int64 {
        try write { db in
            var r = RunRecord(id: nil, toolVersion: toolVersion, experiment: experiment, options: options, startedAt: Date(), finishedAt: nil, status: "running")
            try r.insert(db)
            return r.id!
        }
    }

    public func finishRun(_ id: Int64, status: String) throws {
        try write { db in
            if var r = try RunRecord.fetchOne(db, key: id) {
                r.finishedAt = Date()
                r.status = status
                try r.update(db)
            }
        }
    }

    /// The experiment definition the store's results answer (nil: written before v2, or empty).
    public func definition() throws -> (hash: String, json: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT hash, json FROM experiment_definition WHERE id = 1").map {
                (try StoreText.read($0, "hash", field: "experiment_definition.hash", store: path),
                 try StoreText.read($0, "json", field: "experiment_definition.json", store: path))
            }
        }
    }

    public func save(definition d: ExperimentDefinition) throws {
        try write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO experiment_definition (id, hash, json, updated_at) VALUES (1, ?, ?, ?)",
                           arguments: [d.hash, d.json, Date()])
        }
    }

    /// The store as a fingerprint cache (Checkpoints.FingerprintCache).
    public var fingerprintCache: FingerprintCache {
        FingerprintCache(lookup: { [db] key in
            try? db.read { try String.fetchOne($0, sql: "SELECT fingerprint FROM fingerprint_cache WHERE stat_key = ?", arguments: [key]) }
        }, save: { [db] key, fp in
            try? db.write { try $0.execute(sql: "INSERT OR REPLACE INTO fingerprint_cache (stat_key, fingerprint, computed_at) VALUES (?, ?, ?)",
                                            arguments: [key, fp, Date()]) }
        })
    }

    public func runs() throws -> [RunRecord] { try read { try RunRecord.order(Column("id")).fetchAll($0) } }

    public func save(_ c: CheckpointRecord) throws { try write { try c.save($0) } }
    public func checkpoints() throws -> [CheckpointRecord] { try read { try CheckpointRecord.fetchAll($0) } }
    public func checkpoint(label: String) throws -> CheckpointRecord? { try read { try CheckpointRecord.fetchOne($0, key: label) } }

    // MARK: items

    public struct TaskKey: Sendable, Hashable {
        public var fingerprint: String
        public var task: String
        public var taskHash: String
        public var fewshot: Int
        public init(fingerprint: String, task: String, taskHash: String, fewshot: Int) {
            self.fingerprint = fingerprint; self.task = task; self.taskHash = taskHash; self.fewshot = fewshot
        }
        var filter: SQLExpression {
            Column("fingerprint") == fingerprint && Column("task") == task && Column("task_hash") == taskHash && Column("fewshot") == fewshot
        }
    }

    /// Stored items of a task with doc_id < limit (nil: all), by doc id.
    public func items(_ key: TaskKey, below limit: Int? = nil) throws -> [Int: ItemRecord] {
        try read { db in
            var q = ItemRecord.filter(key.filter)
            if let limit { q = q.filter(Column("doc_id") < limit) }
            return Dictionary(uniqueKeysWithValues: try q.fetchAll(db).map { ($0.docId, $0) })
        }
    }

    /// Documents of `range` with stored outcomes (or a generation).
    public func storedCount(_ key: TaskKey, in range: Range<Int>) throws -> Int {
        try read { db in
            try ItemRecord.filter(key.filter && Column("doc_id") >= range.lowerBound && Column("doc_id") < range.upperBound
                                  && (Column("outcomes") != nil || Column("generation") != nil)).fetchCount(db)
        }
    }

    /// Stored spectra tensors of a variant.
    public func spectraCount(base: String, fingerprint: String, variance: Double) throws -> Int {
        try read { try SpectrumRecord.filter(Column("base_fingerprint") == base && Column("fingerprint") == fingerprint && Column("variance") == variance).fetchCount($0) }
    }

    /// Saves a chunk of items in one transaction.
    public func save(items: [ItemRecord]) throws {
        guard !items.isEmpty else { return }
        try write { db in for i in items { try i.save(db) } }
    }

    public func save(_ r: TaskResultRecord) throws { try write { try r.save($0) } }

    public func taskResult(_ key: TaskKey, limit: Int) throws -> TaskResultRecord? {
        try read { try TaskResultRecord.filter(key.filter && Column("limit") == limit).fetchOne($0) }
    }

    // MARK: spectra

    public func spectra(base: String, fingerprint: String, variance: Double) throws -> [String: SpectrumRecord] {
        try read { db in
            let rows = try SpectrumRecord.filter(Column("base_fingerprint") == base && Column("fingerprint") == fingerprint && Column("variance") == variance).fetchAll(db)
            return Dictionary(rows.map { ($0.tensor, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func save(_ s: SpectrumRecord) throws { try write { try s.save($0) } }

    /// The chosen tensors' weight spectra of a variant, by tensor.
    public func weightSpectra(base: String, fingerprint: String) throws -> [String: WeightSpectrumRecord] {
        try read { db in
            let rows = try WeightSpectrumRecord.filter(Column("base_fingerprint") == base && Column("fingerprint") == fingerprint).fetchAll(db)
            return Dictionary(rows.map { ($0.tensor, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func save(_ w: WeightSpectrumRecord) throws { try write { try w.save($0) } }

    public func spectraPass(base: String, fingerprint: String, variance: Double, modules: String) throws -> SpectraPassRecord? {
        try read { try SpectraPassRecord.filter(Column("base_fingerprint") == base && Column("fingerprint") == fingerprint && Column("variance") == variance && Column("modules") == modules).fetchOne($0) }
    }

    public func save(_ p: SpectraPassRecord) throws { try write { try p.save($0) } }

    /// Every stored item and task result (for exports and tests).
    public func allItems() throws -> [ItemRecord] { try read { try ItemRecord.fetchAll($0) } }
    public func allTaskResults() throws -> [TaskResultRecord] { try read { try TaskResultRecord.fetchAll($0) } }
    public func allSpectra() throws -> [SpectrumRecord] { try read { try SpectrumRecord.fetchAll($0) } }

    /// Row counts per table (for progress checks and tests).
    public func counts() throws -> [String: Int] {
        try read { db in
            var out: [String: Int] = [:]
            for t in ["runs", "checkpoints", "item_results", "task_results", "spectra"] {
                out[t] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(t)") ?? 0
            }
            return out
        }
    }
}
