import GRDB

// The store's queries through each connection's statement cache. GRDB's `sql:` methods
// prepare their statement on every call; on the hot paths (a verification start runs about
// ten statements, a link confirmation six) preparing cost the single writer as much CPU as
// running them. `cached:` prepares a statement once per connection and reuses it. Only for
// single statements with fixed SQL text (arguments go in `arguments`, never in the text).
// Rows come through `SQLiteRow.fetchOne(_:cached:arguments:)` (SQLiteRows.swift).

extension Database {
    /// Runs one statement from the connection's statement cache.
    func execute(cached sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

extension DatabaseValueConvertible where Self: StatementColumnConvertible {
    /// `fetchOne(_:sql:arguments:)` through the connection's statement cache.
    static func fetchOne(_ db: Database, cached sql: String, arguments: StatementArguments = StatementArguments()) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// `fetchAll(_:sql:arguments:)` through the connection's statement cache.
    static func fetchAll(_ db: Database, cached sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Self] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}
