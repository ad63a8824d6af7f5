import ContactVerifyCore
import Foundation
import Logging
import PostgresNIO
import TestServers
import Testing

@testable import ContactVerifyStore

/// How PostgreSQL migrations are cut into statements (each runs alone: a prepared statement
/// holds one). Every PostgreSQL test applies all migrations, so their text itself is run there.
@Suite("PostgreSQL: migrations")
struct PostgresMigrationsTests {
    @Test("a migration is cut at each `;` outside a `$$` function body, and blank pieces are dropped")
    func statementsKeepFunctionBodiesWhole() {
        let sql = """
            CREATE TABLE t (a INT);
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO t VALUES (1);
                RETURN NULL;
            END $$;
            CREATE INDEX t_a ON t(a);

            """
        let statements = PostgresMigrations.statements(of: sql).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(statements == [
            "CREATE TABLE t (a INT)",
            """
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO t VALUES (1);
                RETURN NULL;
            END $$
            """,
            "CREATE INDEX t_a ON t(a)",
        ])
        #expect(PostgresMigrations.statements(of: "SELECT 1") == ["SELECT 1"])
    }

    @Test("no statement of a shipped migration is blank or ends inside a function body")
    func everyMigrationCutsCleanly() {
        for migration in PostgresMigrations.all {
            for statement in PostgresMigrations.statements(of: migration.sql) {
                #expect(statement.contains { !$0.isWhitespace }, "\(migration.name)")
                #expect(statement.components(separatedBy: "$$").count % 2 == 1, "\(migration.name): \(statement)")
            }
        }
    }

    @Test("an upgrade from v11 with data: the status filters and the expiry sweep find the rows that were there, and the triggers take over")
    func upgradeKeepsFiltersAndExpiries() async throws {
        var configuration = try await PostgresServer.makeConfiguration()
        configuration.poolSize = 2
        let logger = Logger(label: "test")
        let connection = try await PostgresConnection.connect(configuration: try configuration.connectionConfiguration(), id: 1, logger: logger)
        do {
            _ = try await PostgresMigrations.migrate(connection, logger: logger, through: "v11-send-log-by-time")
            for statement in [
                "INSERT INTO accounts (id, display_name, locale, daily_sms_limit, created_at, updated_at) VALUES ('acme', 'Acme', 'en', 100, 0, 0)",
                """
                INSERT INTO contacts (id, account_id, name, email, email_key, email_status, phone, phone_status, created_at, updated_at) VALUES
                    ('c1', 'acme', 'Ann', 'ann@example.com', 'ann@example.com', 'verified', '+8613800138000', 'pending', 0, 0),
                    ('c2', 'acme', 'Bob', 'bob@example.com', 'bob@example.com', 'not_verified', NULL, NULL, 0, 0),
                    ('c3', 'acme', 'Cy', NULL, NULL, NULL, '+8613800138001', 'verified', 0, 0)
                """,
                """
                INSERT INTO verifications (id, account_id, contact_id, channel, method, address, address_key, locale, status, nonce,
                    code_hash, send_count, last_sent_at, created_at, expires_at) VALUES
                    ('v1', 'acme', 'c1', 'sms', 'code', '+8613800138000', '+8613800138000', 'en', 'pending', '\\x00', 'h', 1, 0, 0, 1000),
                    ('v2', 'acme', 'c2', 'email', 'code', 'bob@example.com', 'bob@example.com', 'en', 'pending', '\\x00', 'h', 1, 0, 0, 5000),
                    ('v3', 'acme', 'c1', 'email', 'code', 'ann@example.com', 'ann@example.com', 'en', 'approved', '\\x00', 'h', 1, 0, 0, 1000)
                """,
            ] {
                try await connection.run(PostgresQuery(unsafeSQL: statement), logger)
            }
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }

        let store = try await PostgresStore(configuration, logger: logger)  // runs v12 and v13
        func listed(_ channel: AddressChannel, _ status: AddressStatus) async throws -> [String] {
            try await store.listContacts(accountID: "acme", filter: ContactFilter(channel: channel, status: status), limit: 10, cursor: nil)
                .items.map(\.id)
        }
        do {
            #expect(try await listed(.email, .verified) == ["c1"])
            #expect(try await listed(.email, .notVerified) == ["c2"])
            #expect(try await listed(.phone, .pending) == ["c1"])
            #expect(try await listed(.phone, .verified) == ["c3"])
            #expect(try await store.rows("SELECT verification_id FROM verification_expiries ORDER BY verification_id").compactMap {
                $0.text("verification_id")
            } == ["v1", "v2"], "the pending verifications, and only those")
            // v1 is due: the sweep expires it, and its contact's phone leaves `pending` through the trigger.
            #expect(try await store.expireDue(now: Date(millisecondsSince1970: 2_000)) == 1)
            #expect(try await store.verification(accountID: "acme", id: "v1")?.status == .expired)
            #expect(try await listed(.phone, .pending) == [])
            #expect(try await listed(.phone, .notVerified) == ["c1"])
            #expect(try await store.verification(accountID: "acme", id: "v2")?.status == .pending)
            await store.close()
        } catch {
            await store.close()
            throw error
        }
    }
}
