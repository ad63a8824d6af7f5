import ContactVerifyCore
import GRDB
import PostgresNIO

/// A store error that means the database cannot take the request now — its disk is full,
/// it stayed locked past the busy timeout, or its files fail — rather than a bug. The API
/// answers it with 503 and `Retry-After` instead of a 500 (security.md F20, F22). Nothing was
/// written: each store call is one transaction (one savepoint on SQLite), rolled back whole.
///
/// ```swift
/// if let fault = StorageFault(error) { return ProblemResponse.make(fault.serviceError) }
/// ```
public struct StorageFault: Sendable, Equatable {
    /// What class of storage failure this is; each has its own problem code.
    public enum Kind: String, Sendable, Equatable {
        /// SQLite `SQLITE_FULL` (a full disk, or a `max_page_count` limit); PostgreSQL `53100 disk_full`.
        case full = "storage_full"
        /// SQLite `SQLITE_BUSY` / `SQLITE_LOCKED` after the busy timeout; PostgreSQL `55P03`,
        /// or a deadlock or serialization failure still there after the store's retries.
        case busy = "storage_busy"
        /// SQLite `SQLITE_IOERR` / `SQLITE_CANTOPEN`; PostgreSQL's other `53` (insufficient resources) states.
        case failing = "storage_unavailable"
    }

    /// The class of failure.
    public let kind: Kind
    /// The database's own name for it, for logs only: `SQLite 13` (the extended result code)
    /// or `SQLSTATE 53100`. No SQL text, path or server message.
    public let cause: String

    /// The storage fault `error` reports, or nil when it is something else (a constraint, a
    /// corrupt file, a bug), which stays a 500.
    public init?(_ error: any Error) {
        if let error = error as? DatabaseError {
            guard let kind = Self.kind(sqlite: error.resultCode) else { return nil }
            self.kind = kind
            self.cause = "SQLite \(error.extendedResultCode.rawValue)"
            return
        }
        var underlying = error
        if let transaction = error as? PostgresTransactionError {
            underlying = transaction.closureError ?? transaction.beginError ?? transaction.commitError ?? error
        }
        guard let state = PostgresState.of(underlying), let kind = Self.kind(sqlState: state) else { return nil }
        self.kind = kind
        self.cause = "SQLSTATE \(state)"
    }

    /// Seconds a caller should wait before retrying: a full disk needs an operator, a lock
    /// clears within a second, a failing file may recover in a few.
    public var retryAfter: Int {
        switch kind {
        case .full: 30
        case .busy: 1
        case .failing: 5
        }
    }

    /// The 503 problem the API answers with.
    public var serviceError: ServiceError {
        let detail =
            switch kind {
            case .full: "The service's storage is full. Try again later."
            case .busy: "The service's storage is busy. Try again shortly."
            case .failing: "The service's storage is failing. Try again later."
            }
        return ServiceError(.unavailable, code: kind.rawValue, detail: detail, retryAfter: retryAfter)
    }

    private static func kind(sqlite code: ResultCode) -> Kind? {
        switch code {
        case .SQLITE_FULL: .full
        case .SQLITE_BUSY, .SQLITE_LOCKED: .busy
        case .SQLITE_IOERR, .SQLITE_CANTOPEN: .failing
        default: nil
        }
    }

    private static func kind(sqlState state: String) -> Kind? {
        switch state {
        case PostgresState.diskFull: .full
        case PostgresState.lockNotAvailable, PostgresState.deadlockDetected, PostgresState.serializationFailure: .busy
        case _ where state.hasPrefix(PostgresState.insufficientResourcesClass): .failing
        default: nil
        }
    }
}
