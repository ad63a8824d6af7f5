import Foundation
import GRDB
import Logging

/// What the SQLite store does when the writer's transaction fails with an I/O error
/// (fault F21, requirement R-3 in security.md).
///
/// After a failed `fsync`, Linux may already have dropped the dirty pages it could not write,
/// and a later `fsync` of the same file can report success: retrying and carrying on could
/// acknowledge writes that are not on disk ("fsyncgate"). So an `SQLITE_IOERR` that fails the
/// group transaction (`SQLITE_IOERR_FSYNC`, `_WRITE`, `_DIR_FSYNC`… from `BEGIN`, `COMMIT`, or a
/// write inside it that made SQLite roll the whole transaction back) is fatal: the store logs one
/// critical line (the SQLite result code, never row data) and ends the process at once with
/// exit status 74 (`EX_IOERR`, sysexits.h), before any caller of that transaction is answered,
/// so none of them sees a 2xx. The supervisor restarts the process, and SQLite's WAL recovery
/// on the next open keeps every transaction that was durably committed.
///
/// `_exit` rather than `fatalError` or `exit`: a trap reads as a crash bug (a signal status,
/// a backtrace, a core dump) instead of a storage fault with a status of its own, and `exit`
/// runs atexit handlers and global destructors while NIO's event loops and GRDB's queues are
/// still running on other threads. The kernel closes the sockets, so requests in flight see
/// the connection end without an answer.
///
/// Only the writer's own transaction is covered. A full disk is `SQLITE_FULL`, not an I/O
/// error, and stays a per-request error mapped at the API edge (F20). With PostgreSQL the
/// server applies the same rule itself (`data_sync_retry = off`, the default, makes a failed
/// fsync a PANIC and a crash recovery); this process then sees its connections fail.
enum SQLiteIOFault {
    /// `EX_IOERR` from sysexits.h: an error occurred while doing I/O on some file.
    static let exitStatus: Int32 = 74

    /// The I/O error in `error`, if it is one that ends the process.
    static func fatal(_ error: any Error) -> DatabaseError? {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_IOERR else { return nil }
        return error
    }

    /// Logs the fault and ends the process with ``exitStatus``.
    static func stop(_ error: DatabaseError) -> Never {
        Logger(label: "contact-verify.store").critical(
            "SQLite could not make a transaction durable (I/O error); stopping so that nothing unsynced is acknowledged",
            metadata: ["sqlite.code": "\(error.extendedResultCode.rawValue)", "sqlite.message": "\(error.message ?? "")"])
        _exit(exitStatus)
    }
}
