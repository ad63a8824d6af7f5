import ContactVerifyCore
import Foundation

/// A column value as both stores keep it: text, a 64-bit integer (times are milliseconds
/// since 1970, booleans 0 or 1), bytes, or NULL.
enum StoredValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case bytes([UInt8])
    case null

    init(_ value: String?) { self = value.map(StoredValue.text) ?? .null }
    init(_ value: Int?) { self = value.map { .integer(Int64($0)) } ?? .null }
    init(_ value: Int64?) { self = value.map(StoredValue.integer) ?? .null }
    init(_ value: Bool) { self = .integer(value ? 1 : 0) }
    init(_ value: Date?) { self = value.map { .integer($0.millisecondsSince1970) } ?? .null }
    init(_ value: [UInt8]?) { self = value.map(StoredValue.bytes) ?? .null }
}

/// A fetched row, read by column name; SQLite's and PostgreSQL's rows conform, so one
/// mapping (``StoreRows``) builds the models from either.
protocol StoredRow {
    func text(_ column: String) -> String?
    func integer(_ column: String) -> Int64?
    func bytes(_ column: String) -> [UInt8]?
}

extension StoredRow {
    func int(_ column: String) -> Int? { integer(column).map(Int.init) }
    func date(_ column: String) -> Date? { integer(column).map(Date.init(millisecondsSince1970:)) }
    func bool(_ column: String) -> Bool { (integer(column) ?? 0) != 0 }
}
