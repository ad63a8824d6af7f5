import Foundation

/// A small pool of dedicated threads that run blocking libcurl transfers, so that
/// `curl_easy_perform` never blocks a NIO event loop or a thread of the Swift concurrency
/// pool.
///
/// Each thread owns one ``CurlEasy`` handle for its whole life and hands it to every job it
/// runs, so a pool of N threads keeps at most N connections per server and reuses them from
/// one job to the next. Jobs wait in a bounded FIFO queue; when it is full, ``run(_:)`` fails
/// at once with ``CurlWorkersError/queueFull`` instead of piling up work. A job that is still
/// queued when its task is cancelled is dropped.
///
/// ```swift
/// let workers = CurlWorkers(name: "smtp", threads: 4)
/// let code = await workers.run { easy in easy.perform(transfer) }
/// ```
///
/// Releasing the pool lets its threads finish the queued jobs, close their handles (and
/// connections) and exit.
final class CurlWorkers: Sendable {
    private let queue: CurlJobQueue

    /// Starts `threads` threads named `curl-<name>-<n>`, with room for `queueLimit` waiting jobs.
    init(name: String, threads: Int, queueLimit: Int = 1024) {
        queue = CurlJobQueue(limit: max(1, queueLimit))
        for index in 0..<max(1, threads) {
            let queue = self.queue
            let thread = Thread {
                var easy: CurlEasy?
                while let job = queue.next() {
                    if easy == nil { easy = CurlEasy() }
                    job.run(easy)
                }
                easy = nil  // closes the connections before the thread ends
            }
            thread.name = "curl-\(name)-\(index)"
            thread.start()
        }
    }

    deinit {
        queue.close()
    }

    /// Runs `work` on one of the pool's threads with that thread's handle, and returns its
    /// result without blocking the caller's thread.
    func run<T: Sendable>(_ work: @escaping @Sendable (CurlEasy) -> T) async -> Result<T, CurlWorkersError> {
        let id = queue.makeID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, CurlWorkersError>, Never>) in
                guard !Task.isCancelled else {
                    continuation.resume(returning: .failure(.cancelled))
                    return
                }
                let job = CurlJob(
                    id: id,
                    run: { easy in
                        guard let easy else {
                            continuation.resume(returning: .failure(.handleUnavailable))
                            return
                        }
                        continuation.resume(returning: .success(work(easy)))
                    },
                    fail: { error in continuation.resume(returning: .failure(error)) })
                if let refused = queue.enqueue(job) {
                    continuation.resume(returning: .failure(refused))
                }
            }
        } onCancel: {
            queue.cancel(id)
        }
    }
}

/// Why a job did not run.
enum CurlWorkersError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The queue already holds its limit of waiting jobs.
    case queueFull
    /// The task was cancelled before a thread took the job.
    case cancelled
    /// libcurl could not make an easy handle.
    case handleUnavailable
    /// The pool is shutting down.
    case closed

    var description: String {
        switch self {
        case .queueFull: "too many transfers are waiting"
        case .cancelled: "cancelled before it started"
        case .handleUnavailable: "libcurl could not create a handle"
        case .closed: "the transfer pool is shut down"
        }
    }
}

/// One queued job. Exactly one of `run` and `fail` is called, exactly once.
private struct CurlJob: Sendable {
    let id: UInt64
    let run: @Sendable (CurlEasy?) -> Void
    let fail: @Sendable (CurlWorkersError) -> Void
}

/// The bounded FIFO the pool's threads take jobs from.
private final class CurlJobQueue: @unchecked Sendable {
    // Safety: every stored property is read and written only while `condition` is locked.
    private let condition = NSCondition()
    private var jobs: [CurlJob] = []
    private var head = 0
    private var closed = false
    private var nextID: UInt64 = 0
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    func makeID() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        nextID &+= 1
        return nextID
    }

    /// Adds a job; returns why it was refused, or `nil`.
    func enqueue(_ job: CurlJob) -> CurlWorkersError? {
        condition.lock()
        defer { condition.unlock() }
        if closed { return .closed }
        guard jobs.count - head < limit else { return .queueFull }
        jobs.append(job)
        condition.signal()
        return nil
    }

    /// The next job, waiting for one; `nil` once the queue is closed and empty.
    func next() -> CurlJob? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if closed { return nil }
            condition.wait()
        }
        let job = jobs[head]
        head += 1
        if head > 64, head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    /// Drops the job `id` if no thread has taken it yet.
    func cancel(_ id: UInt64) {
        condition.lock()
        let index = jobs[head...].firstIndex { $0.id == id }
        let job = index.map { jobs.remove(at: $0) }
        condition.unlock()
        job?.fail(.cancelled)
    }

    /// Refuses new jobs; threads finish what is queued, then end.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
