import Foundation
import GRDB

/// A row copied out of a statement, read as a ``StoredRow`` so that ``StoreRows`` maps it.
///
/// GRDB's `Row.fetchOne` and `Row.fetchAll` build, for every fetch, a lookup table of the
/// statement's column names lowercased (one `String` per column, then a dictionary), and its
/// by-name subscripts lowercase again on each call; reading a 30-column contact that way was
/// a tenth of the single writer's time in a link confirmation (P2 profiles,
/// docs/performance.md). Here the values are copied by position and looked up by the exact
/// name among the statement's cached column names (the schema's names are lower case). Values
/// convert as GRDB converts them: text from a blob as UTF-8, an integer from a whole real,
/// bytes from text.
struct SQLiteRow: StoredRow {
    /// The statement's column names, shared by every row it returns.
    private let names: [String]
    private let values: [DatabaseValue]

    fileprivate init(names: [String], statement: SQLiteStatement) {
        self.names = names
        values = (0..<CInt(names.count)).map { DatabaseValue(sqliteStatement: statement, index: $0) }
    }

    func text(_ column: String) -> String? {
        switch storage(column) {
        case .string(let text): text
        case .blob(let data): String(data: data, encoding: .utf8)
        default: nil
        }
    }

    func integer(_ column: String) -> Int64? {
        switch storage(column) {
        case .int64(let integer): integer
        case .double(let real): Int64(exactly: real)
        default: nil
        }
    }

    func bytes(_ column: String) -> [UInt8]? {
        switch storage(column) {
        case .blob(let data): Array(data)
        case .string(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The value of the leftmost column named `column`; NULL when there is none.
    private func storage(_ column: String) -> DatabaseValue.Storage {
        guard let index = names.firstIndex(of: column) else { return .null }
        return values[index].storage
    }

    // MARK: Fetching

    /// The first row of a statement from the connection's statement cache (see
    /// `CachedStatements.swift`), for queries that return at most one row.
    static func fetchOne(_ db: Database, cached sql: String, arguments: StatementArguments = StatementArguments()) throws -> SQLiteRow? {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments).first
    }

    /// Every row of a statement from the connection's statement cache.
    static func fetchAll(_ db: Database, cached sql: String, arguments: StatementArguments = StatementArguments()) throws -> [SQLiteRow] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// Every row of a statement prepared for this call only (SQL text that varies).
    static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [SQLiteRow] {
        try fetchAll(db.makeStatement(sql: sql), arguments: arguments)
    }

    /// Steps the statement to its end (so that it holds no read lock afterwards).
    private static func fetchAll(_ statement: Statement, arguments: StatementArguments) throws -> [SQLiteRow] {
        try Array(SQLiteRowCursor(statement: statement, arguments: arguments))
    }
}

/// GRDB's cursor protocol over ``SQLiteRow``s: GRDB steps the statement and reports its
/// errors; the cursor only copies each row out.
private final class SQLiteRowCursor: DatabaseCursor {
    typealias Element = SQLiteRow
    let _statement: Statement
    var _isDone = false
    private let names: [String]

    init(statement: Statement, arguments: StatementArguments) throws {
        _statement = statement
        names = statement.columnNames
        try statement.setArguments(arguments)  // resets the statement, then binds
    }

    func _element(sqliteStatement: SQLiteStatement) -> SQLiteRow {
        SQLiteRow(names: names, statement: sqliteStatement)
    }
}

extension StoredValue {
    /// The SQLite value.
    var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): text.databaseValue
        case .integer(let integer): integer.databaseValue
        case .bytes(let bytes): Data(bytes).databaseValue
        case .null: .null
        }
    }
}

extension StatementArguments {
    /// Arguments from stored values, in order.
    ///
    /// Through GRDB's initializer for optional existentials: its initializer for a sequence of
    /// one concrete type maps with a key path, and unspecialized (GRDB is another module) that
    /// key path is instantiated anew on every call, on the single writer's thread.
    init(stored values: [StoredValue]) {
        self.init(values.map { $0.databaseValue as (any DatabaseValueConvertible)? })
    }
}
