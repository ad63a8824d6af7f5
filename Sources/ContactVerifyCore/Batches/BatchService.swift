import Foundation

/// Creates verification batches and works through their items: each contact gets one
/// verification through the normal path (same limits, outbox and templates).
public struct BatchService: Sendable {
    public typealias FullStore = Store & VerificationStore & BatchStore

    let store: any FullStore
    let verifications: VerificationService
    let clock: any WallClock

    public init(store: any FullStore, verifications: VerificationService, clock: any WallClock) {
        self.store = store
        self.verifications = verifications
        self.clock = clock
    }

    /// Which contacts a batch covers.
    public enum Selection: Sendable {
        /// These ids, in this order; repeats count once.
        case contacts([String])
        /// Every contact whose address of the batch's channel has this status, now.
        case status(AddressStatus)
    }

    /// Stores a batch; the runner does the work. Throws `422 batch_too_large` beyond
    /// ``Batch/maxContacts`` contacts. With `idempotency`, the store records the batch's id on
    /// that `Idempotency-Key` claim.
    public func create(
        in account: Account, selection: Selection, channel: VerificationChannel, method: VerificationMethod,
        idempotency: IdempotencyMark? = nil
    ) async throws -> Batch {
        var ids: [String]
        switch selection {
        case .contacts(let given):
            var seen = Set<String>()
            ids = given.filter { seen.insert($0).inserted }
        case .status(let status):
            ids = []
            var cursor: String?
            repeat {
                let page = try await store.listContacts(
                    accountID: account.id, filter: ContactFilter(channel: channel.addressChannel, status: status), limit: 500, cursor: cursor)
                ids += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil && ids.count <= Batch.maxContacts
        }
        guard ids.count <= Batch.maxContacts else {
            throw ServiceError(
                .unprocessable, code: "batch_too_large", detail: "A batch holds at most \(Batch.maxContacts) contacts.",
                errors: [FieldError(field: "contactIds", code: "too_many", message: "At most \(Batch.maxContacts) contacts.")])
        }
        let batch = Batch(
            id: Batch.makeID(), accountID: account.id, channel: channel, method: method, total: ids.count, createdAt: clock.now())
        try await store.createBatch(batch, contactIDs: ids, idempotency: idempotency)
        return batch
    }

    /// Verifications of one pass that start at once when no argon2 hash is involved (link
    /// method): enough for the store's group commit to coalesce their writes into a few
    /// transactions instead of one durable commit per contact.
    public static let linkStartConcurrency = 64

    /// Works on up to `limit` pending items, then completes finished batches. Returns how many
    /// items it worked on. An item whose verification started is marked by the store in the same
    /// transaction; one that cannot start gets its reason here. Store failures, and a hashing
    /// pool too busy to take a code, leave the item pending for the next pass.
    ///
    /// Items start concurrently: link items ``linkStartConcurrency`` at a time, code items as
    /// many at a time as the hashing pool has workers (more would only be refused by it).
    @discardableResult
    public func runOnce(limit: Int) async throws -> Int {
        let pending = try await store.pendingBatchItems(limit: limit)
        var accounts: [String: Account] = [:]
        var work: [(item: PendingBatchItem, account: Account)] = []
        for item in pending {
            let accountID = item.batch.accountID
            if accounts[accountID] == nil, let loaded = try await store.account(id: accountID) {
                accounts[accountID] = loaded
            }
            if let account = accounts[accountID] { work.append((item, account)) }
        }
        try await start(work.filter { $0.item.batch.method == .link }, concurrency: Self.linkStartConcurrency)
        try await start(work.filter { $0.item.batch.method == .code }, concurrency: verifications.hashingConcurrency)
        _ = try await store.completeBatches(now: clock.now())
        return pending.count
    }

    /// Starts each item's verification, at most `concurrency` at once; throws the first store failure.
    private func start(_ work: [(item: PendingBatchItem, account: Account)], concurrency: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = work.makeIterator()
            for _ in 0..<max(1, concurrency) {
                guard let entry = next.next() else { break }
                group.addTask { try await start(entry.item, in: entry.account) }
            }
            while try await group.next() != nil {
                if let entry = next.next() {
                    group.addTask { try await start(entry.item, in: entry.account) }
                }
            }
        }
    }

    private func start(_ item: PendingBatchItem, in account: Account) async throws {
        let batch = item.batch
        do {
            _ = try await verifications.start(
                in: account, contactID: item.contactID, channel: batch.channel, method: batch.method, locale: nil, batchID: batch.id)
        } catch let error as ServiceError where error.code == ServiceError.batchItemTaken.code || error.code == "hashing_busy" {
            return  // started by another instance (its outcome is recorded), or tried again next pass
        } catch let error as ServiceError {
            let outcome = Self.outcome(of: error)
            try await store.finishBatchItem(
                batchID: batch.id, contactID: item.contactID, outcome: outcome,
                errorCode: outcome == .failed ? error.code : nil, errorMessage: outcome == .failed ? error.detail : nil)
        }
    }

    /// The outcome of a contact whose verification could not start.
    static func outcome(of error: ServiceError) -> BatchOutcome {
        switch error.code {
        case "already_verified": .skippedVerified
        case "no_address": .skippedNoAddress
        case "not_found": .skippedNotFound
        case "address_locked": .skippedLocked
        default: .failed
        }
    }
}
