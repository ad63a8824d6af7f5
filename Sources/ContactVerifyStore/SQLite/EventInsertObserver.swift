import GRDB

/// Rings the store's bell after each commit of the writer connection that inserted into
/// `events`. GRDB reports a change made inside a savepoint only once the savepoint is released,
/// so a group-commit job that rolled back its own event does not count.
final class EventInsertObserver: TransactionObserver, @unchecked Sendable {
    private let bell: EventsQueuedBell
    /// Touched on the writer's queue only, as GRDB calls an observer there.
    private var inserted = false

    init(bell: EventsQueuedBell) {
        self.bell = bell
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "events" }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {
        inserted = true
    }

    func databaseDidCommit(_ db: Database) {
        guard inserted else { return }
        inserted = false
        bell.ring()
    }

    func databaseDidRollback(_ db: Database) {
        inserted = false
    }
}
