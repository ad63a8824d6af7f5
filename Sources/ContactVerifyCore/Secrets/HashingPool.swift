import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why ``HashingPool/run(_:)`` refused a job.
public enum HashingPoolError: Error, Sendable, Equatable {
    /// `maxConcurrent` jobs are running and `maxWaiting` more are queued; the job was not accepted
    /// and did not run. The API answers `503 Service Unavailable` with `Retry-After`.
    case saturated
}

/// Runs blocking, memory-hungry work (argon2id) on a fixed set of dedicated threads, with a
/// bounded queue in front of them.
///
/// ```swift
/// let pool = HashingPool()                                  // one thread per core
/// let phc = try await pool.run { hasher.hash(code) }        // throws .saturated when full
/// ```
///
/// ## Why dedicated threads
///
/// An argon2id hash blocks its thread for ≈ 25 ms and holds 19 MiB. On the Swift cooperative
/// pool (one thread per core) a few such jobs would stall every other task of the process, and on
/// a NIO event loop they would stall all its connections. A `DispatchQueue` throttled by a
/// semaphore would keep the *count* right, but Dispatch's global pool adds threads when its
/// workers block, and on Linux the Swift default executor itself runs on Dispatch's global
/// queues, so the work would still compete with it for the same thread pool. Here the bound is
/// structural instead: `maxConcurrent` Foundation `Thread`s are started once, each runs one job at
/// a time, so at most `maxConcurrent` hashes (and `maxConcurrent` × 19 MiB) exist at any moment,
/// no thread is ever created per job, and no `async` code ever blocks.
///
/// ## Admission
///
/// At most `maxConcurrent + maxWaiting` jobs are admitted (running or queued) at any moment; a
/// ``run(_:)`` beyond that throws ``HashingPoolError/saturated`` immediately, without suspending,
/// so overload turns into fast `503`s instead of growing latency and memory. Queued jobs start in
/// FIFO order.
///
/// Cancelling the task that awaits ``run(_:)`` does not stop or dequeue its job: blocking C code
/// cannot be interrupted, and the job's result is still delivered when it completes.
public final class HashingPool: Sendable {
    /// The number of worker threads, hence the most jobs that ever run at once.
    public let maxConcurrent: Int
    /// The most admitted jobs that wait for a worker while all workers are busy.
    public let maxWaiting: Int
    private let core: Core

    /// A pool of `maxConcurrent` worker threads (default: one per active processor) with room for
    /// `maxWaiting` queued jobs (default: `2 × maxConcurrent`).
    ///
    /// The threads are started here and stop when the pool is deallocated.
    ///
    /// - Precondition: `maxConcurrent >= 1` and `maxWaiting >= 0`.
    public init(maxConcurrent: Int = ProcessInfo.processInfo.activeProcessorCount, maxWaiting: Int? = nil) {
        precondition(maxConcurrent >= 1, "a hashing pool needs at least one thread")
        let maxWaiting = maxWaiting ?? 2 * maxConcurrent
        precondition(maxWaiting >= 0, "maxWaiting cannot be negative")
        self.maxConcurrent = maxConcurrent
        self.maxWaiting = maxWaiting
        self.core = Core(capacity: maxConcurrent + maxWaiting)
        for index in 0..<maxConcurrent {
            let core = self.core
            let name = "HashingPool-\(index)"
            let thread = Thread {
                // Named from inside: swift-corelibs-foundation drops a name set before `start()`,
                // and the thread would keep the creating thread's name (a Dispatch worker's).
                Thread.current.name = name
                Self.yieldToEventLoops()
                core.work()
            }
            thread.start()
        }
    }

    deinit {
        core.stop(workers: maxConcurrent)
    }

    /// The niceness of the workers (Linux: 0 is the default, 19 the lowest priority).
    public static let workerNiceness: Int32 = 10

    /// Lowers the calling worker thread's priority to ``workerNiceness``: the pool keeps every
    /// core busy under load, and at equal priority the event loops would wait for the
    /// scheduler behind argon2 jobs, so that even `/healthz` took tens of milliseconds (P5 in
    /// docs/performance.md). Hashes still get every cycle nothing else wants. On Linux a
    /// thread's niceness is its own: `setpriority(PRIO_PROCESS, 0, …)` changes only the caller.
    private static func yieldToEventLoops() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, workerNiceness)
        #endif
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    ///
    /// The calling task suspends (it does not block) until the job has run.
    ///
    /// - Throws: ``HashingPoolError/saturated`` at once, without running `work`, when
    ///   `maxConcurrent` jobs are running and `maxWaiting` are queued.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws(HashingPoolError) -> T {
        let result: Result<T, HashingPoolError> = await withCheckedContinuation { continuation in
            let accepted = core.submit {
                let value = work()
                return { continuation.resume(returning: .success(value)) }
            }
            if !accepted {
                continuation.resume(returning: .failure(.saturated))
            }
        }
        return try result.get()
    }

    /// Whether the calling thread is one of this pool's workers (for tests and assertions).
    public var isWorkerThread: Bool {
        let me = pthread_self()
        return core.state.withLock { $0.threads.contains { pthread_equal($0, me) != 0 } }
    }

    /// The number of jobs executing right now (at most ``maxConcurrent``); for metrics.
    public var running: Int { core.state.withLock { $0.running } }

    /// The number of admitted jobs not yet started; for metrics.
    public var waiting: Int { core.state.withLock { $0.queue.count } }

    /// The state shared by the pool object and its worker threads. The threads keep it alive
    /// until they exit, after the pool itself is gone.
    private final class Core: Sendable {
        /// A queued job: runs the work on a worker thread and returns the closure that hands the
        /// result to the waiting task. The worker marks itself idle in between, so `running` has
        /// already dropped when the caller resumes.
        typealias Job = @Sendable () -> @Sendable () -> Void

        struct State: ~Copyable {
            var queue: [Job] = []
            var running = 0
            var stopping = false
            /// The worker threads that have started.
            var threads: [pthread_t] = []
        }

        let capacity: Int
        let state = Mutex(State())
        /// Signalled once per queued job, and once per worker when stopping.
        let wakeUps = DispatchSemaphore(value: 0)

        init(capacity: Int) {
            self.capacity = capacity
        }

        /// Queues `job` if fewer than `capacity` jobs are admitted; whether it was queued.
        func submit(_ job: @escaping Job) -> Bool {
            let accepted = state.withLock { state in
                guard !state.stopping, state.running + state.queue.count < capacity else { return false }
                state.queue.append(job)
                return true
            }
            if accepted {
                wakeUps.signal()
            }
            return accepted
        }

        /// A worker thread's loop: take the oldest job, run it, repeat; return when woken with
        /// nothing to do (only `stop` does that).
        func work() {
            let me = pthread_self()
            state.withLock { $0.threads.append(me) }
            while true {
                wakeUps.wait()
                let job: Job? = state.withLock { state in
                    guard !state.queue.isEmpty else { return nil }
                    state.running += 1
                    return state.queue.removeFirst()
                }
                guard let job else { return }
                let deliver = job()
                state.withLock { $0.running -= 1 }
                deliver()
            }
        }

        /// Makes every worker return once the queue is empty.
        func stop(workers: Int) {
            state.withLock { $0.stopping = true }
            for _ in 0..<workers {
                wakeUps.signal()
            }
        }
    }
}
