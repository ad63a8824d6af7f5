import GRDB
import Synchronization

/// Runs many callers' writes in one SQLite transaction and answers each caller only once
/// that transaction is durable (group commit).
///
/// With `synchronous=FULL` every commit waits for an fsync (≈ 300 per second on the
/// machines we measured), so one commit per request caps throughput there. Here, while a
/// transaction is being written, new jobs queue up; when it commits, all queued jobs go into
/// the next transaction. Each job runs inside its own savepoint, so one job's failure (a
/// unique-constraint conflict, say) rolls back only that job. There is no timer: an idle
/// writer commits a lone job at once.
final class GroupCommitWriter: Sendable {
    /// Answers one caller once the transaction's outcome is known.
    private typealias Finisher = @Sendable (Result<Void, any Error>) -> Void

    /// One caller's write: `run` executes inside the shared transaction and returns the
    /// finisher and the write's own error, if any; `fail` answers the caller when the
    /// transaction could not even begin.
    private struct Job: Sendable {
        let run: @Sendable (Database) -> (finish: Finisher, error: (any Error)?)
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Job] = []
        var flushing = false
    }

    private let writer: any DatabaseWriter
    private let maxJobsPerTransaction: Int
    private let state = Mutex(State())

    init(writer: any DatabaseWriter, maxJobsPerTransaction: Int = 512) {
        self.writer = writer
        self.maxJobsPerTransaction = maxJobsPerTransaction
    }

    /// Runs `body` in the next group transaction; returns its result once the transaction
    /// committed, or throws `body`'s error (its changes rolled back) or the commit's error.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    let outcome: Result<T, any Error>
                    do {
                        outcome = .success(try Self.inSavepoint(db) { try body(db) })
                    } catch {
                        outcome = .failure(error)
                    }
                    let finish: Finisher = { commit in
                        switch commit {
                        case .success: continuation.resume(with: outcome)
                        case .failure(let error): continuation.resume(throwing: error)
                        }
                    }
                    if case .failure(let error) = outcome { return (finish, error) }
                    return (finish, nil)
                },
                fail: { continuation.resume(throwing: $0) })
            let startFlush = state.withLock { state -> Bool in
                state.pending.append(job)
                if state.flushing { return false }
                state.flushing = true
                return true
            }
            if startFlush { flush() }
        }
    }

    /// Runs `body` in a savepoint of the open transaction: its changes stay if it returns and
    /// are rolled back if it throws. GRDB's `inSavepoint` prepares `SAVEPOINT` and `RELEASE`
    /// afresh on every call; with one savepoint per job, hundreds per transaction, these come
    /// from the connection's statement cache instead.
    private static func inSavepoint<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(cached: "SAVEPOINT job")
        do {
            let value = try body()
            try db.execute(cached: "RELEASE SAVEPOINT job")
            return value
        } catch {
            // After some errors SQLite has rolled the whole transaction back, savepoint and
            // all; `flush` fails every job then.
            if db.isInsideTransaction {
                try? db.execute(cached: "ROLLBACK TRANSACTION TO SAVEPOINT job")
                try? db.execute(cached: "RELEASE SAVEPOINT job")
            }
            throw error
        }
    }

    /// Writes everything pending in one transaction, then starts over until nothing is left.
    private func flush() {
        let jobs = state.withLock { state -> [Job] in
            let batch = Array(state.pending.prefix(maxJobsPerTransaction))
            state.pending.removeFirst(batch.count)
            if batch.isEmpty { state.flushing = false }
            return batch
        }
        guard !jobs.isEmpty else { return }
        // Jobs catch their own errors, so only BEGIN, COMMIT or a job's error that made SQLite
        // roll the whole transaction back can fail it.
        // The finishers live outside it so that every caller is answered either way, except
        // after an I/O error, which stops the process (SQLiteIOFault).
        let finishers = Mutex<[Finisher]?>(nil)
        writer.asyncWrite({ db in
            var done: [Finisher] = []
            var abort: (any Error)?
            for job in jobs {
                let (finish, error) = job.run(db)
                done.append(finish)
                if abort == nil, let error, !db.isInsideTransaction { abort = error }
            }
            finishers.withLock { $0 = done }
            // SQLite rolls the whole transaction back after some errors (SQLITE_FULL, _BUSY,
            // _NOMEM, _IOERR): every job in it is lost, and every caller hears that cause
            // (a full disk, say) rather than GRDB's SQLITE_ABORT from COMMIT.
            if let abort { throw abort }
        }, completion: { [self] _, result in
            // An I/O error that failed the transaction (BEGIN, COMMIT, or a write SQLite rolled
            // the whole transaction back for) ends the process before anyone is answered.
            if case .failure(let error) = result, let fault = SQLiteIOFault.fatal(error) { SQLiteIOFault.stop(fault) }
            if let done = finishers.withLock({ $0 }) {
                for finish in done { finish(result) }
            } else if case .failure(let error) = result {
                for job in jobs { job.fail(error) }
            }
            flush()
        })
    }
}
