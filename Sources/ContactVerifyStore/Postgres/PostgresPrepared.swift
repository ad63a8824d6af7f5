import Logging
import PostgresNIO

/// The fixed text of a statement on a hot path, which each connection should parse and plan
/// once instead of on every run.
///
/// postgres-nio sends a ``PostgresQuery`` as an unnamed statement, which PostgreSQL parses,
/// analyses and plans anew each time. A confirmation's transaction run that way reached
/// 2,486 transactions a second under `pgbench -M extended` on the bench machine, and 4,362
/// with `-M prepared` (docs/performance.md). A statement whose text varies (an `UPDATE` of
/// the changed columns) cannot be one.
///
/// A prepared text names its columns (``StoreRows/selectList(_:of:)``) instead of `*`:
/// PostgreSQL refuses to run a prepared `SELECT *` once a migration (of a newer instance sharing
/// the database) has added a column to its table ("cached plan must not change result type").
protocol PreparedText: Sendable {
    /// A short name, unique among the store's prepared texts (PostgreSQL keeps 63 bytes of it).
    static var name: String { get }
    /// The statement, with `$1`, `$2`, … for its values.
    static var sql: String { get }
}

/// One run of a ``PreparedText`` with its values bound. postgres-nio prepares the text on a
/// connection the first time it runs there and reuses it afterwards.
struct Prepared<Text: PreparedText>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { "cv_" + Text.name }
    static var sql: String { Text.sql }

    private let bindings: PostgresBindings

    /// The statement with `values` bound to `$1`, `$2`, … in order.
    init<each Value: PostgresThrowingDynamicTypeEncodable>(_ values: repeat each Value) throws {
        var bindings = PostgresBindings()
        repeat try bindings.append(each values)
        self.bindings = bindings
    }

    func makeBindings() -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs a prepared statement and collects its rows.
    func rows<Text>(_ statement: Prepared<Text>, _ logger: Logger) async throws -> [PostgresStoredRow] {
        try await execute(statement, logger: logger).storedRows()
    }

    /// The first row of a prepared statement, if any.
    func row<Text>(_ statement: Prepared<Text>, _ logger: Logger) async throws -> PostgresStoredRow? {
        try await rows(statement, logger).first
    }

    /// Runs a prepared statement whose rows are not needed.
    func run<Text>(_ statement: Prepared<Text>, _ logger: Logger) async throws {
        _ = try await rows(statement, logger)
    }
}
