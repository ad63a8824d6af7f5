import Foundation
import NIOCore
import PostgresNIO

/// A row PostgreSQL returned, read as a ``StoredRow`` so that ``StoreRows`` maps it.
///
/// postgres-nio's `PostgresRandomAccessRow` answers a read by name with two lookups in its
/// dictionary of names (`contains`, then the subscript), builds a `PostgresCell` (copying the
/// column's name) and decodes through the generic `PostgresDecodable` machinery; the group
/// lock's 50 columns a row read that way, plus a `"c_" + name` string built for each contact
/// column, were 6 % of the service's CPU during P2 PostgreSQL (docs/performance.md). Here a
/// row keeps its cells' bytes beside the statement's ``PostgresColumns``, shared by all its
/// rows: a read is one dictionary lookup, and the binary forms the store's columns come in
/// (text, `int2`/`int4`/`int8`, `bool`, `bytea`) are read directly. Any other type or format
/// goes through postgres-nio's decoder, as before.
struct PostgresStoredRow: StoredRow, Sendable {
    /// The names and types of the statement's columns.
    let columns: PostgresColumns
    private let cells: [ByteBuffer?]

    /// `row`'s cells, laid out as `columns` describes (the columns of the statement that returned it).
    init(_ row: PostgresRow, columns: PostgresColumns) {
        self.columns = columns
        cells = row.map(\.bytes)
    }

    private init(columns: PostgresColumns, cells: [ByteBuffer?]) {
        self.columns = columns
        self.cells = cells
    }

    /// The same row read through `columns` (``PostgresColumns/removingPrefix(_:)``): one model's
    /// columns in a row that joins two tables sharing column names.
    func reading(_ columns: PostgresColumns) -> PostgresStoredRow {
        PostgresStoredRow(columns: columns, cells: cells)
    }

    func text(_ column: String) -> String? {
        guard let (index, buffer) = cell(column) else { return nil }
        switch columns.types[index] {
        case .text, .varchar, .name, .bpchar: return String(buffer: buffer)
        default: return try? self.decoded(index, buffer, as: String.self)
        }
    }

    func integer(_ column: String) -> Int64? {
        guard let (index, buffer) = cell(column) else { return nil }
        guard columns.formats[index] == .binary else { return try? decoded(index, buffer, as: Int64.self) }
        switch (columns.types[index], buffer.readableBytes) {
        case (.int8, 8): return buffer.getInteger(at: buffer.readerIndex, as: Int64.self)
        case (.int4, 4): return buffer.getInteger(at: buffer.readerIndex, as: Int32.self).map(Int64.init)
        case (.int2, 2): return buffer.getInteger(at: buffer.readerIndex, as: Int16.self).map(Int64.init)
        case (.bool, 1): return buffer.getInteger(at: buffer.readerIndex, as: UInt8.self).map { $0 == 0 ? 0 : 1 }
        default: return try? decoded(index, buffer, as: Int64.self)
        }
    }

    func bytes(_ column: String) -> [UInt8]? {
        guard let (index, buffer) = cell(column) else { return nil }
        if columns.types[index] == .bytea, columns.formats[index] == .binary {
            return buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes)
        }
        return (try? decoded(index, buffer, as: Data.self)).map(Array.init)
    }

    /// The index and bytes of `column`; `nil` when the row has no such column or it is NULL.
    private func cell(_ column: String) -> (Int, ByteBuffer)? {
        guard let index = columns.index[column], let buffer = cells[index] else { return nil }
        return (index, buffer)
    }

    /// The cell at `index` through postgres-nio's decoder.
    private func decoded<T: PostgresDecodable>(_ index: Int, _ buffer: ByteBuffer, as type: T.Type) throws -> T {
        try PostgresCell(
            bytes: buffer, dataType: columns.types[index], format: columns.formats[index],
            columnName: columns.names[index], columnIndex: index
        ).decode(T.self)
    }
}

/// The columns of a statement's result, shared by every row it returns: names, types and
/// formats by position, and the position of each name.
final class PostgresColumns: Sendable {
    let names: [String]
    let types: [PostgresDataType]
    let formats: [PostgresFormat]
    /// The leftmost position of each name (as ``StoredRow`` reads a repeated name).
    let index: [String: Int]

    /// The columns of the statement that returned `row`.
    convenience init(_ row: PostgresRow) {
        self.init(names: row.map(\.columnName), types: row.map(\.dataType), formats: row.map(\.format))
    }

    private init(names: [String], types: [PostgresDataType], formats: [PostgresFormat], index: [String: Int]? = nil) {
        self.names = names
        self.types = types
        self.formats = formats
        self.index = index ?? Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The same columns, of which those named `prefix` + a name are found under that name
    /// alone (``StoreRows/selectList(_:of:prefix:)`` names them so); the others are not found.
    func removingPrefix(_ prefix: String) -> PostgresColumns {
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where name.hasPrefix(prefix) {
            let stripped = String(name.dropFirst(prefix.count))
            if index[stripped] == nil { index[stripped] = position }
        }
        return PostgresColumns(names: names, types: types, formats: formats, index: index)
    }
}

extension AsyncSequence where Element == PostgresRow {
    /// Collects the rows of one statement, all sharing one ``PostgresColumns``.
    func storedRows() async throws -> [PostgresStoredRow] {
        var rows: [PostgresStoredRow] = []
        var columns: PostgresColumns?
        for try await row in self {
            let layout = columns ?? PostgresColumns(row)
            columns = layout
            rows.append(PostgresStoredRow(row, columns: layout))
        }
        return rows
    }
}
