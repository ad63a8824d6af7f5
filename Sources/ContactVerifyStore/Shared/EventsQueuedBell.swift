import Synchronization

/// What a store calls after a commit that queued an event: the event worker's wake-up, once it
/// is set (``ContactVerifyCore/EventStore/onEventsQueued(_:)``).
final class EventsQueuedBell: Sendable {
    private let wake = Mutex<(@Sendable () -> Void)?>(nil)

    func set(_ wake: @escaping @Sendable () -> Void) {
        self.wake.withLock { $0 = wake }
    }

    func ring() {
        wake.withLock { $0 }?()
    }
}
