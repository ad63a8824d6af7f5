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
    /// ``Batch/maxContacts`` contacts.
    public func create(
        in account: Account, selection: Selection, channel: VerificationChannel, method: VerificationMethod
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
        try await store.createBatch(batch, contactIDs: ids)
        return batch
    }

    /// Works on up to `limit` pending items, then completes finished batches. Returns how many
    /// items it worked on. An item whose verification started is marked by the store in the same
    /// transaction; one that cannot start gets its reason here. Store failures leave the item
    /// pending for the next pass.
    @discardableResult
    public func runOnce(limit: Int) async throws -> Int {
        let pending = try await store.pendingBatchItems(limit: limit)
        var accounts: [String: Account] = [:]
        for item in pending {
            let batch = item.batch
            let account: Account
            if let known = accounts[batch.accountID] {
                account = known
            } else if let loaded = try await store.account(id: batch.accountID) {
                account = loaded
                accounts[batch.accountID] = loaded
            } else {
                continue
            }
            do {
                _ = try await verifications.start(
                    in: account, contactID: item.contactID, channel: batch.channel, method: batch.method, locale: nil, batchID: batch.id)
            } catch let error as ServiceError where error.code == ServiceError.batchItemTaken.code {
                continue  // another instance started it: its outcome is recorded already
            } catch let error as ServiceError {
                let outcome = Self.outcome(of: error)
                try await store.finishBatchItem(
                    batchID: batch.id, contactID: item.contactID, outcome: outcome,
                    errorCode: outcome == .failed ? error.code : nil, errorMessage: outcome == .failed ? error.detail : nil)
            }
        }
        _ = try await store.completeBatches(now: clock.now())
        return pending.count
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
