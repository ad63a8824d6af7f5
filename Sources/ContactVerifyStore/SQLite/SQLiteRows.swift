import Foundation
import GRDB

/// GRDB's rows read as ``StoredRow``, so ``StoreRows`` maps them.
///
/// Values are taken from the row's `DatabaseValue`s directly, with GRDB's conversions (text
/// from a blob as UTF-8, an integer from a whole real, bytes from text): GRDB's generic
/// subscripts looked the column up case-insensitively, lowercasing every column name on each
/// call, and decoded through generic metadata lookups, together about a tenth of the CPU of a
/// link confirmation (P2 profiles, docs/performance.md).
extension Row: StoredRow {
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

    /// The value of the column named exactly `column` (the schema's names are lower case);
    /// GRDB's case-insensitive lookup is the fallback.
    private func storage(_ column: String) -> DatabaseValue.Storage {
        for (name, value) in self where name == column {
            return value.storage
        }
        return (self[column] as DatabaseValue?)?.storage ?? .null
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
    init(stored values: [StoredValue]) {
        self.init(values.map(\.databaseValue))
    }
}
