import Synchronization

/// Set when an event insert is built inside ``PostgresStore/transaction(_:)`` (by
/// ``PostgresStore/queuedEvent(type:now:data:)``; the transaction binds a fresh mark to each
/// attempt), so that the store rings its bell only after a commit that queued one.
final class QueuedEventMark: Sendable {
    @TaskLocal static var current: QueuedEventMark?

    private let value = Atomic(false)

    func set() { value.store(true, ordering: .relaxed) }

    var isSet: Bool { value.load(ordering: .relaxed) }
}
