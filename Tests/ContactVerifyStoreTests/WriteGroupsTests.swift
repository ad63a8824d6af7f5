import Synchronization
import Testing

@testable import ContactVerifyStore

/// The grouping itself: no timer, at most `maxInFlight` groups at once, jobs that wait go
/// together, each exactly once.
@Suite("Write groups")
struct WriteGroupsTests {
    @Test("a job starts a group at once while a slot is free; jobs that arrive while every slot is busy wait and go together")
    func grouping() async {
        let groups = WriteGroups<Int>(maxInFlight: 2, maxPerGroup: 3)
        let seen = Mutex<[[Int]]>([])
        let (started, startedSignal) = AsyncStream<Void>.makeStream()
        let gate = Gate()
        let (finished, finishedSignal) = AsyncStream<Int>.makeStream()
        let held = Mutex(0)
        let run: @Sendable ([Int]) async -> Void = { jobs in
            seen.withLock { $0.append(jobs) }
            // The first two groups hold their slots until the test opens the gate.
            if held.withLock({ count in
                count += 1
                return count <= 2
            }) {
                startedSignal.yield()
                await gate.wait()
            }
            for job in jobs { finishedSignal.yield(job) }
        }
        var startedIterator = started.makeAsyncIterator()
        groups.submit(0, run: run)
        _ = await startedIterator.next()
        groups.submit(1, run: run)
        _ = await startedIterator.next()
        for job in 2...5 { groups.submit(job, run: run) }
        #expect(seen.withLock { $0 } == [[0], [1]], "both slots busy: the rest wait")
        gate.open()
        var done: [Int] = []
        for await job in finished {
            done.append(job)
            if done.count == 6 { break }
        }
        #expect(done.sorted() == Array(0...5), "each job ran exactly once")
        let later = seen.withLock { Array($0.dropFirst(2)) }
        #expect(later.sorted { $0.count > $1.count } == [[2, 3, 4], [5]], "the waiting jobs went in arrival order, three at most a group")
    }
}

/// Holds whoever waits until it is opened; open, it holds nobody.
private final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiting.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
