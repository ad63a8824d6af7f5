import ContactVerifyCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

extension PostgresBindings {
    /// Appends stored values in order.
    mutating func append(stored values: [StoredValue]) {
        for value in values {
            switch value {
            case .text(let text): append(text)
            case .integer(let integer): append(integer)
            case .bytes(let bytes): append(ByteBuffer(bytes: bytes))
            case .null: appendNull()
            }
        }
    }
}

extension PostgresQuery {
    /// `INSERT INTO table (columns) VALUES ($1, …)` with `values` bound, plus `suffix`.
    static func insert(into table: String, columns: [String], values: [StoredValue], suffix: String = "") -> PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        binds.append(stored: values)
        let placeholders = (1...columns.count).map { "$\($0)" }.joined(separator: ", ")
        return PostgresQuery(
            unsafeSQL: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) \(suffix)", binds: binds)
    }
}

extension PostgresConnection {
    /// Runs `query` and collects its rows.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresStoredRow] {
        try await self.query(query, logger: logger).storedRows()
    }

    /// The first row of `query`, if any.
    func row(_ query: PostgresQuery, _ logger: Logger) async throws -> PostgresStoredRow? {
        try await rows(query, logger).first
    }

    /// Runs a statement whose rows are not needed.
    func run(_ query: PostgresQuery, _ logger: Logger) async throws {
        _ = try await rows(query, logger)
    }
}

/// SQLSTATEs the store reacts to.
enum PostgresState {
    static let uniqueViolation = "23505"
    static let serializationFailure = "40001"
    static let deadlockDetected = "40P01"
    static let lockNotAvailable = "55P03"
    static let diskFull = "53100"
    /// Class 53, insufficient resources (disk full, out of memory, too many connections, …).
    static let insufficientResourcesClass = "53"

    /// Whether `state` is in class 22 (data exception) or 23 (integrity constraint violation):
    /// caused by the values a statement wrote, not by the server's condition.
    static func isDataError(_ state: String) -> Bool {
        state.hasPrefix("22") || state.hasPrefix("23")
    }

    static func of(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
