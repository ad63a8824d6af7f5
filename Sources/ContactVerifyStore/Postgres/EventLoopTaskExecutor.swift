import NIOCore

/// Runs a task's jobs on one SwiftNIO event loop, for work that mostly waits on a channel of that
/// loop. An answer from PostgreSQL arrives on the connection's event loop; a task on Swift's
/// cooperative pool is woken there by a hop to another thread, and its next query hops back to
/// the loop to be written. With this executor preferred (`withTaskExecutorPreference`), the task
/// resumes on the loop that read the answer and writes its next query from it: two thread
/// switches fewer a round trip. Every job it runs holds the loop's other channels meanwhile, so it
/// suits short bodies only (``PostgresStore/transaction(onConnectionLoop:_:)``). The store's
/// connections live on SwiftNIO's process-wide event loops (`PostgresClient`'s default group),
/// which are never shut down, so every job enqueued here runs.
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
