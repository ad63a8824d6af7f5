import Logging
import PostgresNIO

/// The writes of one step of a transaction, sent to PostgreSQL as one statement: every write
/// but the last becomes a data-modifying `WITH` clause of the last, so a message's outcome, its
/// verification's update, its contact's and an event cost one round trip instead of four. (The
/// hottest writes, a group of verification updates', have a prepared text of their own:
/// ``PostgresStore/WriteGroup``.)
///
/// PostgreSQL runs all the writes of a statement on one snapshot, and none sees another's
/// effects: they must touch different rows (here: different tables).
struct PostgresWrites {
    private var statements: [String] = []
    private var binds = PostgresBindings()

    /// Adds a write. `values` are bound in order; `sql` receives their placeholders (`$n`, numbered
    /// for the combined statement) and returns the write's text.
    private mutating func add(_ values: [StoredValue], _ sql: ([String]) -> String) {
        let first = binds.count + 1
        binds.append(stored: values)
        statements.append(sql(values.indices.map { "$\(first + $0)" }))
    }

    /// Adds `UPDATE table SET <changes> WHERE id = …`; nothing when `changes` is empty.
    mutating func update(_ table: String, _ changes: [(column: String, value: StoredValue)], whereID id: String) {
        guard !changes.isEmpty else { return }
        add(changes.map(\.value) + [.init(id)]) { names in
            let assignments = zip(changes, names).map { "\($0.column) = \($1)" }.joined(separator: ", ")
            return "UPDATE \(table) SET \(assignments) WHERE id = \(names[changes.count])"
        }
    }

    /// Adds `INSERT INTO table (columns) VALUES (values)`.
    mutating func insert(into table: String, columns: [String], values: [StoredValue]) {
        add(values) { names in
            "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(names.joined(separator: ", ")))"
        }
    }

    /// Runs the writes as one statement (nothing when there are none).
    func run(on connection: PostgresConnection, _ logger: Logger) async throws {
        guard let last = statements.last else { return }
        let clauses = statements.dropLast().enumerated().map { "w\($0) AS (\($1))" }
        let sql = clauses.isEmpty ? last : "WITH \(clauses.joined(separator: ", ")) \(last)"
        try await connection.run(PostgresQuery(unsafeSQL: sql, binds: binds), logger)
    }
}
