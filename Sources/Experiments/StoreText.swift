import Foundation
import GRDB

/// Reads a text column of a raw `Row`. GRDB's `row["x"] as String` traps (fatalError) when the
/// stored value is NULL, an integer or a blob, and a store file is outside bytes (a damaged or
/// hand-edited store, a fuzzed one): such a value must be an error naming the store, not a crash.
enum StoreText {
    /// `field` names the column for the error (table.column).
    static func read(_ row: Row, _ column: String, field: String, store path: String) throws -> String {
        guard let s = try optional(row, column, field: field, store: path) else {
            throw damaged(field, "NULL", store: path)
        }
        return s
    }

    /// A nullable text column: NULL is nil; an integer or blob is still damage (`as String?` traps on those too).
    static func optional(_ row: Row, _ column: String, field: String, store path: String) throws -> String? {
        let value: DatabaseValue = row[column] ?? .null
        switch value.storage {
        case .string(let s): return s
        case .null: return nil
        case .int64(let i): throw damaged(field, "the integer \(i)", store: path)
        case .double(let d): throw damaged(field, "the number \(d)", store: path)
        case .blob(let b): throw damaged(field, "a blob of \(b.count) bytes", store: path)
        }
    }

    private static func damaged(_ field: String, _ found: String, store path: String) -> ExperimentError {
        ExperimentError(file: path, line: nil, "the results store is damaged: \(field) holds \(found), expected text; "
            + "restore the store from a copy, or move it aside to start a new one (its results would be lost)")
    }
}
