import Foundation
import GRDB
import Testing

@testable import ContactVerifyStore

/// The group-commit writer's promise to each caller: its write commits or rolls back as a
/// whole, whatever the other writes sharing its transaction do.
@Suite("Group commit: one write per savepoint")
struct GroupCommitWriterTests {
    private struct Refused: Error {}

    /// A pool on a fresh file with two tables: `own` (each write's first row) and `shared`
    /// (a unique value only one write can claim).
    private static func withWriter(_ body: (DatabasePool, GroupCommitWriter) async throws -> Void) async throws {
        try await TemporaryDatabase.with { database in
            let pool = try DatabasePool(path: database.path)
            try await pool.write { db in
                try db.execute(sql: "CREATE TABLE own (id INTEGER PRIMARY KEY)")
                try db.execute(sql: "CREATE TABLE shared (value TEXT NOT NULL UNIQUE, writer INTEGER NOT NULL)")
            }
            try await body(pool, GroupCommitWriter(writer: pool))
        }
    }

    @Test("a write that throws after changing rows leaves none of its changes; the writes beside it commit")
    func thrownWriteRollsBackAlone() async throws {
        try await Self.withWriter { pool, writer in
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for id in 0..<200 {
                    group.addTask {
                        do {
                            try await writer.write { db in
                                try db.execute(sql: "INSERT INTO own (id) VALUES (?)", arguments: [id])
                                if id % 2 == 1 { throw Refused() }
                            }
                            return (id, true)
                        } catch {
                            return (id, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            let stored = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM own ORDER BY id") }
            #expect(stored == Array(stride(from: 0, to: 200, by: 2)))
            #expect(outcomes.filter(\.value).keys.sorted() == stored)
        }
    }

    @Test("of many writes racing for one unique value, one wins; every loser hears the conflict and keeps none of its rows")
    func constraintViolationRollsBackAlone() async throws {
        try await Self.withWriter { pool, writer in
            let winners = await withTaskGroup(of: Int?.self) { group in
                for id in 0..<100 {
                    group.addTask {
                        do {
                            try await writer.write { db in
                                try db.execute(sql: "INSERT INTO own (id) VALUES (?)", arguments: [id])
                                try db.execute(sql: "INSERT INTO shared (value, writer) VALUES ('prize', ?)", arguments: [id])
                            }
                            return id
                        } catch let error as DatabaseError {
                            #expect(error.resultCode == .SQLITE_CONSTRAINT)
                            return nil
                        } catch {
                            Issue.record("unexpected error \(error)")
                            return nil
                        }
                    }
                }
                return await group.compactMap { $0 }.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(winners.count == 1)
            let (own, shared) = try await pool.read { db in
                (try Int.fetchAll(db, sql: "SELECT id FROM own"), try Int.fetchAll(db, sql: "SELECT writer FROM shared"))
            }
            #expect(own == winners)
            #expect(shared == winners)
            // Nothing is left open: the next write gets a savepoint of its own and commits.
            try await writer.write { db in try db.execute(sql: "INSERT INTO own (id) VALUES (1000)") }
            #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM own") } == 2)
        }
    }
}
