import ContactVerifyCore
import Foundation
import GRDB

/// The embedded store: one SQLite database in WAL mode with `synchronous=FULL`, reads from
/// a pool of readers, and every write through one group-commit writer.
///
/// ```swift
/// let store = try SQLiteStore(path: "data/contact-verify.sqlite")
/// try await store.putAccount(account)
/// ```
public final class SQLiteStore: Store {
    let pool: DatabasePool
    let writer: GroupCommitWriter
    let eventsQueued = EventsQueuedBell()

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Reads through a memory map instead of a pread and a copy per page: every commit
            // of the writer empties the readers' page caches, so they re-read often (P3 of
            // docs/performance.md: +15 %). SQLite still writes with pwrite; a read of a page
            // the disk cannot return raises SIGBUS instead of an error, as the WAL index
            // (`-shm`), mapped too, already could.
            try db.execute(sql: "PRAGMA mmap_size = \(Self.mmapBytes)")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // Opening the pool switches the writer to WAL and then to synchronous=NORMAL (GRDB's
        // WAL default), after prepareDatabase ran; the connection that commits needs FULL.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Every write goes through this one connection: SQLite's default 2 MiB page cache
            // made a 100,000-contact database re-read its index pages with pread (a profile
            // of a 10,000-SMS batch: ≈ 12 % of the service's CPU in the kernel's page copy).
            try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
        }
        try SQLiteMigrations.migrator.migrate(pool)
        pool.add(transactionObserver: EventInsertObserver(bell: eventsQueued), extent: .databaseLifetime)
        writer = GroupCommitWriter(writer: pool)
    }

    /// How much of the database file each connection maps for reading.
    static let mmapBytes = 256 * 1024 * 1024

    /// The writer connection's page cache, in KiB (readers keep SQLite's 2 MiB default).
    static let writerCacheKiB = 32 * 1024

    /// Applies pending migrations to the database at `path` without keeping it open.
    public static func migrate(path: String) throws {
        _ = try SQLiteStore(path: path)
    }

    /// The `PRAGMA synchronous` level in force (2 = FULL), for tests and diagnostics.
    public func synchronousLevel() async throws -> Int {
        try await writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The journal mode in force (`wal`).
    public func journalMode() async throws -> String {
        try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Runs one statement on the writer connection, between group transactions, and returns
    /// its first column as an integer. Tests set per-connection limits with it: `PRAGMA
    /// max_page_count` makes SQLite fail writes that need a new page with `SQLITE_FULL`, as a
    /// full disk does.
    func onWriter(_ sql: String) async throws -> Int? {
        try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: sql) }
    }

    /// Runs a point read (one row by a unique key) on the calling thread. GRDB's synchronous
    /// read takes an idle reader and runs `body` through `DispatchQueue.sync`, which executes it
    /// right here: the caller is blocked for the lookup's tens of microseconds instead of
    /// hopping to the reader's queue and back, two thread switches that cost more than the
    /// lookup (link confirmations ran ≈ 18 % faster, docs/performance.md). Scans, pages and
    /// aggregates keep `pool.read`'s asynchronous form, so they never hold a task thread.
    func lookup<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }
}

// MARK: - Accounts and keys

extension SQLiteStore {
    public func putAccount(_ account: Account) async throws -> (account: Account, created: Bool) {
        try await writer.write { db in
            var stored = account
            let existing = try SQLiteRow.fetchOne(db, cached: "SELECT created_at FROM accounts WHERE id = ?", arguments: [account.id])
            if let createdAt = existing?.date("created_at") {
                stored.createdAt = createdAt
            }
            let columns = StoreRows.accountColumns
            try db.execute(
                cached: """
                    INSERT INTO accounts (\(columns.joined(separator: ", "))) VALUES (\(StoreSQL.placeholders(columns.count)))
                    ON CONFLICT(id) DO UPDATE SET \(columns.dropFirst().filter { $0 != "created_at" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
                    """,
                arguments: StatementArguments(stored: StoreRows.accountValues(stored)))
            return (stored, existing == nil)
        }
    }

    public func account(id: String) async throws -> Account? {
        try lookup { db in
            try SQLiteRow.fetchOne(db, cached: "SELECT * FROM accounts WHERE id = ?", arguments: [id]).map(StoreRows.account)
        }
    }

    public func insertKey(_ key: APIKey) async throws {
        try await writer.write { db in
            try db.execute(
                cached: "INSERT INTO api_keys (id, account_id, is_admin, name, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [key.id, key.accountID, key.isAdmin, key.name, Data(key.secretHash), key.createdAt.millisecondsSince1970])
        }
    }

    public func activeKey(secretHash: [UInt8]) async throws -> APIKey? {
        try lookup { db in
            try SQLiteRow.fetchOne(
                db, cached: "SELECT * FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL",
                arguments: [Data(secretHash)]
            ).map(StoreRows.apiKey)
        }
    }

    public func revokeKey(id: String, accountID: String?, at date: Date) async throws -> Bool {
        try await writer.write { db in
            if let accountID {
                try db.execute(
                    cached: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL",
                    arguments: [date.millisecondsSince1970, id, accountID])
            } else {
                try db.execute(
                    cached: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    arguments: [date.millisecondsSince1970, id])
            }
            return db.changesCount > 0
        }
    }
}
