import Synchronization

/// Gathers concurrent callers' jobs into groups, each run as one transaction, with at most
/// `maxInFlight` groups running at once (group commit for the shared store).
///
/// A job that arrives while fewer than `maxInFlight` groups run starts a group at once, alone
/// if need be: there is no timer, so an idle store adds no latency. Under load the jobs that
/// arrive while the groups are busy wait and go, up to `maxPerGroup` at a time, into the next
/// group that starts: the busier the store, the bigger the groups.
final class WriteGroups<Job: Sendable>: Sendable {
    private struct State {
        var pending: [Job] = []
        var inFlight = 0
    }

    private let maxInFlight: Int
    private let maxPerGroup: Int
    private let state = Mutex(State())

    init(maxInFlight: Int, maxPerGroup: Int) {
        precondition(maxInFlight > 0 && maxPerGroup > 0)
        self.maxInFlight = maxInFlight
        self.maxPerGroup = maxPerGroup
    }

    /// Queues `job`; it runs in the next group that starts. `run` runs a group and answers each
    /// of its jobs' callers, whatever happens (every caller passes the same).
    func submit(_ job: Job, run: @escaping @Sendable ([Job]) async -> Void) {
        let start = state.withLock { state -> Bool in
            state.pending.append(job)
            guard state.inFlight < maxInFlight else { return false }
            state.inFlight += 1
            return true
        }
        if start { Task { await drain(run) } }
    }

    /// Runs groups of what is pending until nothing is left, then gives its slot back.
    private func drain(_ run: @Sendable ([Job]) async -> Void) async {
        while true {
            let jobs = state.withLock { state -> [Job] in
                let group = Array(state.pending.prefix(maxPerGroup))
                state.pending.removeFirst(group.count)
                if group.isEmpty { state.inFlight -= 1 }
                return group
            }
            guard !jobs.isEmpty else { return }
            await run(jobs)
        }
    }
}
