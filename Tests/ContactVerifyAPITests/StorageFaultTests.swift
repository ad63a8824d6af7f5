import ContactVerifyCore
@testable import ContactVerifyStore
import Foundation
import HummingbirdTesting
import TestServers
import Testing

/// A full disk at enqueue (security.md F20). `PRAGMA max_page_count` at the database's current
/// size makes SQLite answer the first write that needs a new page with `SQLITE_FULL`, exactly
/// as it does when `write` fails with ENOSPC. Requests are sent until one needs that page.
@Suite("Storage faults")
struct StorageFaultTests {
    /// Writes a 4 KiB page fills long before this many requests.
    static let maxAttempts = 300

    /// The app's SQLite store, whose writer connection takes the limit.
    static func store(_ app: TestApp) throws -> SQLiteStore {
        try #require(app.built.store as? SQLiteStore)
    }

    /// Caps the database at its current size; returns the limit in force before.
    static func capAtCurrentSize(_ store: SQLiteStore) async throws -> Int {
        let before = try #require(try await store.onWriter("PRAGMA max_page_count"))
        let pages = try #require(try await store.onWriter("PRAGMA page_count"))
        #expect(try await store.onWriter("PRAGMA max_page_count = \(pages)") == pages)
        return before
    }

    /// Rows in `table`, read on the writer (what any later reader will see).
    static func count(_ store: SQLiteStore, _ table: String) async throws -> Int {
        try #require(try await store.onWriter("SELECT COUNT(*) FROM \(table)"))
    }

    /// A 503 `storage_full` problem with `Retry-After`, naming no SQL, file or SQLite message.
    static func expectStorageFull(_ reply: Client.Reply, _ app: TestApp) {
        #expect(reply.status == .serviceUnavailable, "\(reply.text)")
        #expect(reply.headers[.contentType] == "application/problem+json")
        #expect(reply.code == "storage_full")
        #expect(reply.headers[.retryAfter] == "30")
        #expect(reply["retryAfter"] == .number("30"))
        #expect(reply.string("detail")?.isEmpty == false)
        let text = reply.text.lowercased()
        for leak in ["sql", "insert", "select", "update ", "database or disk", "contact-verify.sqlite", app.dataDirectory.lowercased()] {
            #expect(!text.contains(leak), "the body reveals \(leak): \(reply.text)")
        }
    }

    @Test("a full disk at create-contact answers 503 storage_full with Retry-After to every request of the group commit it spoils, leaves no contact or webhook row, and the same requests succeed once there is room")
    func createContactOnFullDisk() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        let store = try Self.store(app)
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let limit = try await Self.capAtCurrentSize(store)
            var created = 0
            var refused: [(body: String, reply: Client.Reply)] = []
            // Rounds of eight at once, so that several requests share one group transaction.
            for round in 0..<Self.maxAttempts / 8 where refused.isEmpty {
                let replies = try await withThrowingTaskGroup(of: (String, Client.Reply).self) { group in
                    for lane in 0..<8 {
                        let i = round * 8 + lane
                        // A contact and its webhook are two inserts in one store call: neither may stay alone.
                        let body = #"{"name":"Contact \#(i)","email":"c\#(i)@example.com","webhooks":[{"kind":"custom","name":"Hook","url":"https://hooks.example.com/c\#(i)"}]}"#
                        group.addTask { (body, try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for (body, reply) in replies {
                    if reply.status == .created { created += 1 } else { refused.append((body, reply)) }
                }
            }
            try #require(!refused.isEmpty, "\(Self.maxAttempts) contacts fit without a new page")
            for (_, reply) in refused { Self.expectStorageFull(reply, app) }
            #expect(try await Self.count(store, "contacts") == created)
            #expect(try await Self.count(store, "contact_webhooks") == created)
            for (body, _) in refused {
                let email = try #require(body.firstMatch(of: /"email":"([^"]+)"/)?.1)
                let lookup = try await client.call(.get, "/v1/accounts/acme/addresses/lookup?email=\(email)", key: key)
                #expect(lookup.status == .ok, "\(lookup.text)")
                #expect(lookup["contactId"] == .null, "\(lookup.text)")
            }

            _ = try await store.onWriter("PRAGMA max_page_count = \(limit)")
            for (body, _) in refused {
                let retried = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)
                #expect(retried.status == .created, "\(retried.text)")
            }
            #expect(try await Self.count(store, "contacts") == created + refused.count)
            #expect(try await Self.count(store, "contact_webhooks") == created + refused.count)
        }
    }

    @Test("a full disk at start-verification answers 503 storage_full, not 202: no verification, outbox or send-log row, the address stays not_verified, and the same request is accepted and delivered once there is room")
    func startVerificationOnFullDisk() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        let store = try Self.store(app)
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            var contacts: [String] = []
            for i in 0..<Self.maxAttempts / 5 {
                contacts.append(try await client.makeContact("acme", key: key, #"{"name":"Contact \#(i)","email":"c\#(i)@example.com"}"#))
            }
            let limit = try await Self.capAtCurrentSize(store)
            var accepted = 0
            var refused: (contact: String, reply: Client.Reply)?
            for contact in contacts where refused == nil {
                let reply = try await client.startVerification("acme", contact: contact, key: key)
                if reply.status == .accepted { accepted += 1 } else { refused = (contact, reply) }
            }
            let (contact, reply) = try #require(refused, "\(contacts.count) verifications fit without a new page")
            Self.expectStorageFull(reply, app)
            for table in ["verifications", "messages", "send_log"] {
                #expect(try await Self.count(store, table) == accepted, "\(table)")
            }
            let read = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)", key: key)
            guard case .object(let email)? = read["email"] else { Issue.record("no email: \(read.text)"); return }
            #expect(email["status"] == .string("not_verified"))

            _ = try await store.onWriter("PRAGMA max_page_count = \(limit)")
            let retried = try await client.startVerification("acme", contact: contact, key: key)
            #expect(retried.status == .accepted, "\(retried.text)")
            for table in ["verifications", "messages", "send_log"] {
                #expect(try await Self.count(store, table) == accepted + 1, "\(table)")
            }
            // Nothing accepted is lost, and nothing refused is sent.
            try await app.deliver()
            #expect(try app.outbox.emails().count == accepted + 1)
            let code = try app.outbox.lastCode(to: "c\(contacts.firstIndex(of: contact)!)@example.com")
            let verification = try #require(retried.string("id"))
            #expect(try await client.check("acme", verification: verification, code: code, key: key).string("status") == "approved")
        }
    }

    /// Another process (python3's sqlite3) holding the database's write lock until `release()`.
    final class LockHolder: @unchecked Sendable {
        let process = Process()
        private let input = Pipe.forChild()
        private let output = Pipe.forChild()

        /// Starts the holder and returns once it holds the lock.
        static func start(path: String) async throws -> LockHolder {
            let holder = LockHolder()
            holder.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            holder.process.arguments = [
                "python3", "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE');"
                    + " print('locked', flush=True); sys.stdin.read(); c.execute('ROLLBACK')",
                path,
            ]
            holder.process.standardInput = holder.input
            holder.process.standardOutput = holder.output
            try holder.process.spawn()
            let line = await onOwnThread { String(decoding: holder.output.fileHandleForReading.readData(ofLength: 7), as: UTF8.self) }
            try #require(line == "locked\n", "the lock holder said \(line)")
            return holder
        }

        /// Ends the transaction and waits for the process to exit (again: no effect).
        func release() async {
            try? input.fileHandleForWriting.close()
            if process.isRunning { _ = await process.exitStatus() }
        }

        /// A test that stopped early still ends the transaction (the holder exits on its own).
        deinit { try? input.fileHandleForWriting.close() }
    }

    @Test("a write lock another process holds past the busy timeout answers 503 storage_busy with Retry-After 1, writes nothing, and the same request succeeds once the lock is gone")
    func lockedPastBusyTimeout() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        let store = try Self.store(app)
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let contacts = try await Self.count(store, "contacts")
            // 200 ms instead of the store's 10 s, so the wait runs out quickly.
            #expect(try await store.onWriter("PRAGMA busy_timeout = 200") == 200)
            let holder = try await LockHolder.start(path: app.dataDirectory + "/contact-verify.sqlite")
            let body = #"{"name":"Ann","email":"ann@example.com"}"#
            let refused = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)
            await holder.release()
            #expect(refused.status == .serviceUnavailable, "\(refused.text)")
            #expect(refused.code == "storage_busy")
            #expect(refused.headers[.retryAfter] == "1")
            #expect(!refused.text.lowercased().contains("sql"))
            #expect(try await Self.count(store, "contacts") == contacts)

            _ = try await store.onWriter("PRAGMA busy_timeout = 10000")
            let retried = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)
            #expect(retried.status == .created, "\(retried.text)")
            #expect(try await Self.count(store, "contacts") == contacts + 1)
        }
    }

    /// A PostgreSQL error condition a trigger raises, and the problem it must become.
    struct PostgresFault: Sendable, CustomTestStringConvertible {
        var condition: String
        var code: String
        var retryAfter: String
        var testDescription: String { "\(condition) → \(code)" }
    }

    @Test(
        "PostgreSQL's disk_full, lock_not_available and out_of_memory, raised by the server on insert, answer 503 storage_full, storage_busy and storage_unavailable with Retry-After; the same request succeeds once the fault is gone",
        arguments: [
            PostgresFault(condition: "disk_full", code: "storage_full", retryAfter: "30"),
            PostgresFault(condition: "lock_not_available", code: "storage_busy", retryAfter: "1"),
            PostgresFault(condition: "out_of_memory", code: "storage_unavailable", retryAfter: "5"),
        ])
    func postgresFaults(_ fault: PostgresFault) async throws {
        let url = try await PostgresServer.makeDatabaseURL()
        let app = try await TestApp.make { configuration in
            configuration.database = try? PostgresStoreConfiguration(url: url + "?sslmode=disable")
            configuration.database?.poolSize = 2
            configuration.secretKeyHex = String(repeating: "5a", count: 32)
        }
        defer { app.remove() }
        let store = try #require(app.built.store as? PostgresStore)
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            try await PostgresServer.run("/usr/bin/psql", [
                url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                """
                CREATE FUNCTION cv_fault() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'injected fault' USING ERRCODE = '\(fault.condition)'; END $$;
                CREATE TRIGGER cv_fault BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION cv_fault();
                """,
            ])
            let body = #"{"name":"Ann","email":"ann@example.com"}"#
            let refused = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)
            #expect(refused.status == .serviceUnavailable, "\(refused.text)")
            #expect(refused.code == fault.code)
            #expect(refused.headers[.retryAfter] == fault.retryAfter)
            #expect(!refused.text.contains("injected") && !refused.text.lowercased().contains("sql"), "\(refused.text)")

            try await PostgresServer.run("/usr/bin/psql", [url, "-q", "-v", "ON_ERROR_STOP=1", "-c", "DROP TRIGGER cv_fault ON contacts"])
            let retried = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)
            #expect(retried.status == .created, "\(retried.text)")
            let rows = try await PostgresServer.run("/usr/bin/psql", [url, "-tA", "-c", "SELECT count(*) FROM contacts"])
            #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }
        await store.close()
    }
}
