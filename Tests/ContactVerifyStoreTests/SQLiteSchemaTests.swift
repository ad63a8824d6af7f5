import ContactVerifyCore
import Foundation
import GRDB
import Testing

@testable import ContactVerifyStore

/// The SQLite database as the service opens it: durability settings, frozen migrations and
/// the unique address indexes that back `email_taken` / `phone_taken`.
@Suite("SQLite schema and connection settings")
struct SQLiteSchemaTests {
    /// Every migration ever shipped, in the order it must run. Append new ones; never edit,
    /// rename or reorder these.
    static let shippedMigrations = ["v1-accounts-keys-contacts", "v2-verifications-outbox", "v3-idempotency-keys", "v4-batches", "v5-events", "v6-contact-webhooks", "v7-sms-day-counts", "v8-idempotency-resource", "v9-provider-pauses", "v10-verifications-by-contact", "v11-send-log-by-time"]

    // MARK: Durability

    @Test("readers and the writer map the database file for reading (mmap_size)")
    func memoryMappedReads() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA mmap_size") } == SQLiteStore.mmapBytes)
            #expect(try await store.onWriter("PRAGMA mmap_size") == SQLiteStore.mmapBytes)
        }
    }

    @Test("the pool runs in WAL mode with synchronous=FULL on the writer and on readers")
    func walAndSynchronousFull() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            // The connection that commits is what makes a write durable.
            let writerJournal = try await store.pool.write { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            let writerSynchronous = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(writerJournal == "wal")
            #expect(writerSynchronous == 2, "PRAGMA synchronous on the writer: 2 is FULL, 1 is NORMAL")
            // The group-commit writer goes through the same connection.
            #expect(try await store.synchronousLevel() == 2)
            // Readers, several at once so that the pool opens more than one connection.
            let readers = try await withThrowingTaskGroup(of: (String?, Int?).self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await store.pool.read { db in
                            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(readers.count == 4)
            for (journal, synchronous) in readers {
                #expect(journal == "wal")
                #expect(synchronous == 2)
            }
            #expect(try await store.journalMode() == "wal")
        }
    }

    @Test("the writer connection, through which every write goes, has a 32 MiB page cache")
    func writerPageCache() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            // Negative: a size in KiB rather than in pages.
            #expect(try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -32_768)
        }
    }

    @Test("the database file itself is marked WAL, so every later opener uses WAL too")
    func fileHeaderSaysWAL() async throws {
        try await TemporaryDatabase.with { database in
            _ = try database.open()
            // Bytes 18 and 19 of the header are the read and write format versions: 2 means WAL.
            let header = try #require(FileManager.default.contents(atPath: database.path))
            #expect(header.count >= 100)
            #expect(Array(header[18...19]) == [2, 2])
        }
    }

    // MARK: Migrations

    @Test("migrations are registered under their frozen names, in order")
    func registeredMigrations() {
        #expect(SQLiteMigrations.migrator.migrations == Self.shippedMigrations)
    }

    @Test("a new database applies every shipped migration once, in order")
    func freshDatabaseAppliesAll() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            let applied = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
            }
            #expect(applied == Self.shippedMigrations)
            #expect(try await store.pool.read { db in try SQLiteMigrations.migrator.hasCompletedMigrations(db) })
        }
    }

    @Test("opening a database a second time runs nothing and keeps its data")
    func reopeningRunsNothing() async throws {
        try await TemporaryDatabase.with { database in
            let first = try database.open()
            _ = try await first.putAccount(Fixture.account("acme"))
            let before = try await first.pool.read { db in
                (
                    schemaVersion: try Int.fetchOne(db, sql: "PRAGMA schema_version"),
                    schema: try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"),
                    migrations: try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
                )
            }

            let second = try database.open()
            let after = try await second.pool.read { db in
                (
                    schemaVersion: try Int.fetchOne(db, sql: "PRAGMA schema_version"),
                    schema: try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"),
                    migrations: try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
                )
            }
            // Any DDL (a migration run again, or a new one) bumps the schema version.
            #expect(after.schemaVersion == before.schemaVersion)
            #expect(after.schema == before.schema)
            #expect(after.migrations == Self.shippedMigrations)
            #expect(try await second.account(id: "acme")?.displayName == "acme")

            // The `migrate` command takes the same path and changes nothing either.
            try SQLiteStore.migrate(path: database.path)
            let third = try database.open()
            #expect(try await third.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA schema_version") } == before.schemaVersion)
        }
    }

    @Test("v7 counts each account's SMS per UTC day from send_log, so the daily limit carries over the upgrade")
    func smsDayCountsBackfill() async throws {
        try await TemporaryDatabase.with { database in
            let day: Int64 = 20_400 * 86_400_000
            do {
                let queue = try DatabaseQueue(path: database.path)
                try SQLiteMigrations.migrator.migrate(queue, upTo: "v6-contact-webhooks")
                try await queue.write { db in
                    for id in ["acme", "globex"] {
                        try db.execute(
                            sql: "INSERT INTO accounts (id, display_name, locale, daily_sms_limit, created_at, updated_at) VALUES (?, ?, 'en', 5, 0, 0)",
                            arguments: [id, id])
                    }
                    let sends: [(String, String, Int64)] = [
                        ("acme", "sms", day), ("acme", "sms", day + 86_399_999), ("acme", "email", day + 5),
                        ("acme", "sms", day - 1), ("globex", "sms", day + 7), ("deleted", "sms", day),
                    ]
                    for (account, channel, at) in sends {
                        try db.execute(
                            sql: "INSERT INTO send_log (account_id, channel, address_key, sent_at) VALUES (?, ?, 'k', ?)",
                            arguments: [account, channel, at])
                    }
                }
            }
            let store = try database.open()
            let counts = try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT account_id, day, count FROM sms_day_counts ORDER BY account_id, day")
                    .map { "\($0["account_id"] as String) \($0["day"] as Int64) \($0["count"] as Int)" }
            }
            // Email is not counted; the millisecond before midnight belongs to the day before;
            // send_log rows of a deleted account are left out.
            #expect(counts == ["acme \(day - 86_400_000) 1", "acme \(day) 2", "globex \(day) 1"])
        }
    }

    @Test("v10 takes status out of verifications_by_contact (a status change no longer moves the entry), and a contact's pending verification is still found through it")
    func verificationsByContactWithoutStatus() async throws {
        try await TemporaryDatabase.with { database in
            do {
                let queue = try DatabaseQueue(path: database.path)
                try SQLiteMigrations.migrator.migrate(queue, upTo: "v9-provider-pauses")
            }
            let store = try database.open()
            let (columns, plan) = try await store.pool.read { db in
                let columns = try Row.fetchAll(db, sql: "SELECT name FROM pragma_index_info('verifications_by_contact') ORDER BY seqno")
                    .map { $0["name"] as String }
                let plan = try Row.fetchAll(
                    db,
                    sql: "EXPLAIN QUERY PLAN SELECT * FROM verifications WHERE contact_id = 'c' AND channel = 'email' AND status = 'pending' ORDER BY seq DESC LIMIT 1"
                ).map { $0["detail"] as String }
                return (columns, plan)
            }
            #expect(columns == ["contact_id", "channel"])
            #expect(plan.contains { $0.contains("USING INDEX verifications_by_contact (contact_id=? AND channel=?)") }, "\(plan)")
        }
    }

    // MARK: Unique addresses

    @Test("unique indexes cover (account, normalized email) and (account, E.164 phone)")
    func uniqueIndexesExist() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            let indexes = try await store.pool.read { db in
                var columnsByIndex: [String: [String]] = [:]
                for index in try Row.fetchAll(db, sql: "PRAGMA index_list(contacts)") where (index["unique"] as Int) == 1 {
                    let name: String = index["name"]
                    columnsByIndex[name] = try Row.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [name])
                        .map { $0["name"] as String }
                }
                return columnsByIndex
            }
            #expect(indexes["contacts_unique_email"] == ["account_id", "email_key"])
            #expect(indexes["contacts_unique_phone"] == ["account_id", "phone"])
            // Declared in the schema itself, not only created by a migration that might be skipped.
            let declared = try await store.pool.read { db in
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'contacts_unique_email'")
            }
            #expect(declared?.uppercased().hasPrefix("CREATE UNIQUE INDEX") == true)
        }
    }

    @Test("a raw second insert of the same normalized email fails in one account and succeeds in another")
    func uniqueEmailPerAccountInSQL() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            _ = try await store.putAccount(Fixture.account("acme"))
            _ = try await store.putAccount(Fixture.account("globex"))

            // Different spellings, one uniqueness key: only the key column is indexed.
            let insert = """
                INSERT INTO contacts (id, account_id, name, email, email_key, email_status, created_at, updated_at)
                VALUES (?, ?, 'x', ?, 'ann@example.com', 'not_verified', 0, 0)
                """
            try await store.pool.write { db in
                try db.execute(sql: insert, arguments: ["ct_1", "acme", "ann@example.com"])
            }
            let conflict = await #expect(throws: DatabaseError.self) {
                try await store.pool.write { db in
                    try db.execute(sql: insert, arguments: ["ct_2", "acme", "Ann@EXAMPLE.com"])
                }
            }
            #expect(conflict?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE)
            #expect(conflict?.message?.contains("email_key") == true)
            try await store.pool.write { db in
                try db.execute(sql: insert, arguments: ["ct_3", "globex", "ann@example.com"])
            }

            let holders = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT account_id || '/' || id FROM contacts WHERE email_key = 'ann@example.com' ORDER BY seq")
            }
            #expect(holders == ["acme/ct_1", "globex/ct_3"])
        }
    }

    @Test("a raw second insert of the same E.164 number fails in one account and succeeds in another")
    func uniquePhonePerAccountInSQL() async throws {
        try await TemporaryDatabase.with { database in
            let store = try database.open()
            _ = try await store.putAccount(Fixture.account("acme"))
            _ = try await store.putAccount(Fixture.account("globex"))

            let insert = """
                INSERT INTO contacts (id, account_id, name, phone, phone_status, created_at, updated_at)
                VALUES (?, ?, 'x', '+8613800138000', 'not_verified', 0, 0)
                """
            try await store.pool.write { db in try db.execute(sql: insert, arguments: ["ct_1", "acme"]) }
            let conflict = await #expect(throws: DatabaseError.self) {
                try await store.pool.write { db in try db.execute(sql: insert, arguments: ["ct_2", "acme"]) }
            }
            #expect(conflict?.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE)
            try await store.pool.write { db in try db.execute(sql: insert, arguments: ["ct_3", "globex"]) }
            #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contacts") } == 2)
        }
    }
}
