import Foundation
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
}
