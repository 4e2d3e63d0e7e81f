@testable import Experiments
import Foundation
import GRDB
import TestSupport
import XCTest

/// A damaged or foreign results store is refused with an error naming it, never used or
/// silently extended (random bytes in the store made `run` say "all stored" and exit 0).
final class StoreIntegrityTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = Fixtures.temporaryDirectory("store-integrity") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    private func filledStore(_ path: String) throws {
        let store = try ResultsStore(path: path)
        for i in 0..<3000 { store.fingerprintCache.save("key-\(i)-" + String(repeating: "k", count: 40), "xxh64:\(i)") }
        try store.close()
    }

    func testDamagedStoreIsRefusedByName() throws {
        let path = dir.appendingPathComponent("results.sqlite").path
        try filledStore(path)
        XCTAssertNoThrow(try ResultsStore(path: path).close())
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        XCTAssertGreaterThan(size, 60_000)
        var rng: UInt64 = 42
        for page in stride(from: UInt64(8192), to: size - 4096, by: 12_288) {
            try handle.seek(toOffset: page + 100)
            let noise = (0..<600).map { _ -> UInt8 in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: rng >> 56)
            }
            handle.write(Data(noise))
        }
        try handle.close()
        XCTAssertThrowsError(try ResultsStore(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path), text)
            XCTAssertTrue(text.contains("damaged"), text)
        }
    }

    func testForeignDatabaseIsNotExtended() throws {
        let path = dir.appendingPathComponent("mine.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')") }
        try queue.close()
        XCTAssertThrowsError(try ResultsStore(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("not a forgetlens results store"), text)
            XCTAssertTrue(text.contains("notes"), text)
        }
        let tables = try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        XCTAssertEqual(tables, ["notes"])
    }

    func testNotADatabaseIsRefusedByName() throws {
        let path = dir.appendingPathComponent("results.sqlite").path
        try Data(String(repeating: "not sqlite ", count: 500).utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ResultsStore(path: path)) { XCTAssertTrue("\($0)".hasPrefix(path), "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8).prefix(10), "not sqlite")
    }

    /// NULL, an integer or a blob where the store keeps text trapped inside GRDB (a non-optional
    /// `Row` subscript; the fuzz-store target's finding): each is an error naming the store and
    /// the column, for `status`/`report` (definition()) and for `merge` (StoreSnapshot).
    func testNonTextDefinitionIsAnErrorNamingTheStore() throws {
        let fixture = Fixtures.root.appendingPathComponent("fuzz/store/regression-null-hash")
        for (n, (value, found)) in [("NULL", "NULL"), ("42", "the integer 42"), ("x'00ff'", "a blob of 2 bytes")].enumerated() {
            let path = dir.appendingPathComponent("store-\(n).sqlite").path
            try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
            // The fixture's table has no column types (no text affinity turning 42 into '42').
            let queue = try DatabaseQueue(path: path)
            try queue.write {
                try $0.execute(sql: "UPDATE experiment_definition SET hash = \(value), json = '{}' WHERE id = 1")
                try $0.execute(sql: "CREATE TABLE checkpoints (label TEXT, fingerprint TEXT)")  // merge reads it first
            }
            try queue.close()
            let expected = "the results store is damaged: experiment_definition.hash holds \(found), expected text"
            let store = try ResultsStore(path: path)
            XCTAssertThrowsError(try store.definition()) { error in
                XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
            try store.close()
            XCTAssertThrowsError(try StoreMerger.StoreSnapshot(path: path)) { error in
                XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    /// A store whose migration records are damaged in a way quick_check does not see (a second
    /// 'v3' row, missing from the primary key's index: fuzz-store's input) fails the next
    /// migration the same way on every attempt: an error naming the store at once. The retries
    /// are for another process migrating the same new store (this input timed out fuzz-store:
    /// 50 retries of 100 ms).
    func testMigrationThatCannotProgressFailsByName() throws {
        let path = dir.appendingPathComponent("results.sqlite").path
        try FileManager.default.copyItem(atPath: Fixtures.root.appendingPathComponent("fuzz/store/regression-migration-never-completes").path, toPath: path)
        XCTAssertThrowsError(try ResultsStore(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
            XCTAssertTrue("\(error)".contains("cannot open the results store"), "\(error)")
        }
    }
}
