import Foundation
import GRDB

/// GRDB's rows read as ``StoredRow``, so ``StoreRows`` maps them.
extension Row: StoredRow {
    func text(_ column: String) -> String? { self[column] }
    func integer(_ column: String) -> Int64? { self[column] }
    func bytes(_ column: String) -> [UInt8]? { (self[column] as Data?).map(Array.init) }
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
