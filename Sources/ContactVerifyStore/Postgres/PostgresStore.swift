import ContactVerifyCore
import Foundation
import Logging
import PostgresNIO

/// The shared store: one PostgreSQL database that several instances use at once
/// (design §6). Nothing a limit or the outbox needs lives in a process: every check-then-write
/// runs in one transaction under row locks, taken in one order — account, contact,
/// verification, message — and claims use `FOR UPDATE SKIP LOCKED`, so two instances never
/// claim the same message, event or batch item.
///
/// ```swift
/// let store = try await PostgresStore(PostgresStoreConfiguration(url: "postgres://cv@db/cv"), logger: logger)
/// defer { Task { await store.close() } }
/// ```
public final class PostgresStore: Store {
    let client: PostgresClient
    let logger: Logger
    let eventsQueued = EventsQueuedBell()
    /// Verification updates waiting for, or in, a group transaction.
    let updates: WriteGroups<UpdateJob>
    private let runner: Task<Void, Never>

    /// Connects once to fail fast with the server's reason, migrates the database on that
    /// connection, then starts the client's pool in the background.
    public init(_ configuration: PostgresStoreConfiguration, logger: Logger) async throws {
        let first: PostgresConnection
        do {
            first = try await PostgresConnection.connect(configuration: try configuration.connectionConfiguration(), id: 0, logger: logger)
        } catch {
            // PSQLError's description hides the server's reason; its reflection has it (and no password).
            throw ConfigurationError("Cannot connect to \(configuration.redacted): \(String(reflecting: error))")
        }
        do {
            let ran = try await PostgresMigrations.migrate(first, logger: logger)
            try await first.close()
            if !ran.isEmpty { logger.notice("Database migrated", metadata: ["migrations": "\(ran.joined(separator: ","))"]) }
        } catch {
            try? await first.close()
            throw error
        }
        let client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.updates = Self.updateGroups(poolSize: configuration.poolSize)
        self.runner = Task { await client.run() }
    }

    /// Closes the connections; the store is unusable afterwards.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// Runs `body` in a transaction, again (up to five times) when PostgreSQL aborts it to break
    /// a deadlock or a serialization conflict: the body is then run from the start. Once a
    /// transaction that queued an event (``QueuedEventMark``) has committed, the store's bell rings.
    ///
    /// `onConnectionLoop`: the transaction's tasks run on its connection's event loop
    /// (``EventLoopTaskExecutor``), for a short body of several round trips, such as an update
    /// group's; other bodies (a batch's thousands of rows, say) would hold the loop meanwhile.
    func transaction<R: Sendable>(
        onConnectionLoop: Bool = false, _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        var attempt = 0
        while true {
            attempt += 1
            let mark = QueuedEventMark()
            do {
                let result = try await QueuedEventMark.$current.withValue(mark) {
                    try await client.withConnection { connection in
                        try await withTaskExecutorPreference(onConnectionLoop ? EventLoopTaskExecutor(connection.eventLoop) : nil) {
                            try await connection.withTransaction(logger: logger) { connection in try await body(connection) }
                        }
                    }
                }
                if mark.isSet { eventsQueued.ring() }
                return result
            } catch let error as PostgresTransactionError {
                let cause = error.closureError ?? error.beginError ?? error.commitError ?? error
                let state = PostgresState.of(cause)
                if attempt < 5,
                    cause is PostgresRetry || state == PostgresState.deadlockDetected || state == PostgresState.serializationFailure
                {
                    continue
                }
                throw cause
            }
        }
    }

    /// Thrown inside ``transaction(_:)`` when a row it relied on vanished under a concurrent
    /// writer: the transaction is rolled back and run again.
    struct PostgresRetry: Error {}

    /// Runs one statement outside a transaction and returns its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresStoredRow] {
        try await client.withConnection { connection in try await connection.rows(query, logger) }
    }

    public func ping() async throws {
        _ = try await rows("SELECT 1")
    }
}

// MARK: - Accounts and keys

extension PostgresStore {
    public func putAccount(_ account: Account) async throws -> (account: Account, created: Bool) {
        let columns = StoreRows.accountColumns
        let updates = columns.dropFirst().filter { $0 != "created_at" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        let row = try await rows(.insert(
            into: "accounts", columns: columns, values: StoreRows.accountValues(account),
            suffix: "ON CONFLICT (id) DO UPDATE SET \(updates) RETURNING created_at, (xmax = 0) AS inserted")).first
        var stored = account
        if let createdAt = row?.date("created_at") { stored.createdAt = createdAt }
        let inserted = row?.bool("inserted") ?? false
        return (stored, inserted)
    }

    public func account(id: String) async throws -> Account? {
        try await rows("SELECT * FROM accounts WHERE id = \(id)").first.map(StoreRows.account)
    }

    public func insertKey(_ key: APIKey) async throws {
        _ = try await rows(.insert(
            into: "api_keys", columns: ["id", "account_id", "is_admin", "name", "secret_hash", "created_at"],
            values: [.init(key.id), .init(key.accountID), .init(key.isAdmin), .init(key.name), .init(key.secretHash), .init(key.createdAt)]))
    }

    public func activeKey(secretHash: [UInt8]) async throws -> APIKey? {
        try await rows("SELECT * FROM api_keys WHERE secret_hash = \(Data(secretHash)) AND revoked_at IS NULL").first.map(StoreRows.apiKey)
    }

    public func revokeKey(id: String, accountID: String?, at date: Date) async throws -> Bool {
        let ms = date.millisecondsSince1970
        let revoked =
            if let accountID {
                try await rows(
                    "UPDATE api_keys SET revoked_at = \(ms) WHERE id = \(id) AND account_id = \(accountID) AND revoked_at IS NULL RETURNING id")
            } else {
                try await rows("UPDATE api_keys SET revoked_at = \(ms) WHERE id = \(id) AND revoked_at IS NULL RETURNING id")
            }
        return !revoked.isEmpty
    }
}
