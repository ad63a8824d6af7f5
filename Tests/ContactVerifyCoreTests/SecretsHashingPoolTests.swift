import Dispatch
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import ContactVerifyCore

/// Counts the jobs inside a section at once and remembers the highest count seen.
private final class ConcurrencyTracker: Sendable {
    private let state = Mutex((current: 0, highest: 0, total: 0))

    func enter() {
        state.withLock {
            $0.current += 1
            $0.highest = max($0.highest, $0.current)
            $0.total += 1
        }
    }

    func leave() {
        state.withLock { $0.current -= 1 }
    }

    var highest: Int { state.withLock { $0.highest } }
    var total: Int { state.withLock { $0.total } }
}

/// Suspends (yielding, never sleeping) until `condition` holds; the suite's time limit ends a hang.
private func yieldUntil(_ condition: () -> Bool) async {
    while !condition() {
        await Task.yield()
    }
}

@Suite("Hashing pool: bounded concurrency off the cooperative pool", .timeLimit(.minutes(1)))
struct SecretsHashingPoolTests {
    @Test("with the gate closed, 2 jobs run, 3 wait, the 6th is refused; once it opens all 5 complete, never more than 2 at once")
    func limitsAndSaturation() async throws {
        let pool = HashingPool(maxConcurrent: 2, maxWaiting: 3)
        let tracker = ConcurrencyTracker()
        let gate = DispatchSemaphore(value: 0)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Int.self)
        var gateOpened = false
        defer { if !gateOpened { for _ in 0..<5 { gate.signal() } } }  // never leave threads blocked

        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for index in 0..<5 {
                group.addTask {
                    let value = try await pool.run {
                        tracker.enter()
                        startedContinuation.yield(index)
                        gate.wait()
                        tracker.leave()
                        return index * 10
                    }
                    return (index, value)
                }
            }

            // Two jobs start and hold both threads; the other three are admitted and queued.
            var startedJobs = started.makeAsyncIterator()
            _ = await startedJobs.next()
            _ = await startedJobs.next()
            await yieldUntil { pool.waiting == 3 }
            #expect(pool.running == 2)
            #expect(pool.waiting == 3)

            // Full: the next submissions are refused at once and their work never runs.
            for _ in 0..<3 {
                await #expect(throws: HashingPoolError.saturated) {
                    try await pool.run { tracker.enter(); tracker.leave() }
                }
            }
            #expect(pool.running == 2 && pool.waiting == 3)

            gateOpened = true
            for _ in 0..<5 { gate.signal() }

            var results: [Int: Int] = [:]
            for try await (index, value) in group {
                results[index] = value
            }
            #expect(results == [0: 0, 1: 10, 2: 20, 3: 30, 4: 40])
        }
        startedContinuation.finish()

        #expect(tracker.highest == 2)
        #expect(tracker.total == 5)  // the refused jobs never ran
        #expect(pool.running == 0 && pool.waiting == 0)

        // Capacity is free again.
        #expect(try await pool.run { 7 } == 7)
    }

    @Test("with no waiting room, a second job is refused while the only thread is busy")
    func noWaitingRoom() async throws {
        let pool = HashingPool(maxConcurrent: 1, maxWaiting: 0)
        let gate = DispatchSemaphore(value: 0)
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        var gateOpened = false
        defer { if !gateOpened { gate.signal() } }

        async let first = pool.run {
            startedContinuation.yield()
            gate.wait()
            return "done"
        }
        var iterator = started.makeAsyncIterator()
        _ = await iterator.next()
        #expect(pool.running == 1 && pool.waiting == 0)
        await #expect(throws: HashingPoolError.saturated) { try await pool.run { "refused" } }

        gateOpened = true
        gate.signal()
        #expect(try await first == "done")
        #expect(try await pool.run { "next" } == "next")
    }

    @Test("500 jobs from 500 tasks: all complete, at most 3 run at once, all on the pool's own threads")
    func manyJobs() async throws {
        let pool = HashingPool(maxConcurrent: 3, maxWaiting: 500)
        let tracker = ConcurrencyTracker()
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await pool.run {
                        tracker.enter()
                        defer { tracker.leave() }
                        var checksum = UInt64(index)
                        for step in 0..<2_000 { checksum = checksum &* 6364136223846793005 &+ UInt64(step) }
                        _ = checksum
                        return (index, pool.isWorkerThread)
                    }
                }
            }
            var collected: [(Int, Bool)] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(Set(results.map(\.0)) == Set(0..<500))
        #expect(tracker.highest <= 3)
        #expect(tracker.total == 500)
        #expect(results.allSatisfy { $0.1 }, "every job ran on one of the pool's own threads")
    }

    @Test("argon2id hashes and checks run through the pool and give the same answers")
    func hashingThroughThePool() async throws {
        let pool = HashingPool(maxConcurrent: 2, maxWaiting: 8)
        let hasher = CodeHasher(pepper: ServerSecret.randomBytes(count: 32))
        let codes = ["000123", "999999", "314159", "271828"]
        let hashes = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for code in codes {
                group.addTask { (code, try await pool.run { hasher.hash(code) }) }
            }
            var collected: [String: String] = [:]
            for try await (code, phc) in group { collected[code] = phc }
            return collected
        }
        for code in codes {
            let phc = try #require(hashes[code])
            #expect(try await pool.run { hasher.verify(code, phc: phc) })
            #expect(try await !pool.run { hasher.verify("123456", phc: phc) })
        }
    }

    @Test("by default there is one thread per active processor and twice as much waiting room")
    func defaults() {
        let pool = HashingPool()
        #expect(pool.maxConcurrent == ProcessInfo.processInfo.activeProcessorCount)
        #expect(pool.maxWaiting == 2 * pool.maxConcurrent)
        #expect(pool.running == 0 && pool.waiting == 0)
        #expect(HashingPool(maxConcurrent: 3).maxWaiting == 6)
        #expect(HashingPool(maxConcurrent: 3, maxWaiting: 0).maxWaiting == 0)
    }

    #if os(Linux)
    @Test("workers run at a lower priority than the rest of the process, so event loops go first")
    func workersYield() async throws {
        let pool = HashingPool(maxConcurrent: 2)
        let caller = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        for _ in 0..<4 {
            let worker = try await pool.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
            #expect(worker == max(caller, HashingPool.workerNiceness))
        }
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == caller, "only the workers changed")
    }
    #endif
}
