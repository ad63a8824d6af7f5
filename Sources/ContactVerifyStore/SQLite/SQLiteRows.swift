import Foundation
import GRDB

/// GRDB's rows read as ``StoredRow``, so ``StoreRows`` maps them.
extension Row: StoredRow {
    func text(_ column: String) -> String? { value(column) }
    func integer(_ column: String) -> Int64? { value(column) }
    func bytes(_ column: String) -> [UInt8]? { (value(column) as Data?).map(Array.init) }

    /// The value of the column named exactly `column` (the schema's names are lower case).
    ///
    /// GRDB's own lookup by name is case-insensitive and lowercases every column name on each
    /// call: with about twenty columns read per row it was 2 % of the service's CPU in the
    /// benchmarks. An exact match over the names comes first; GRDB's lookup is the fallback.
    private func value<Value: DatabaseValueConvertible>(_ column: String) -> Value? {
        var index = 0
        for name in columnNames {
            if name == column { return self[index] }
            index += 1
        }
        return self[column]
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
