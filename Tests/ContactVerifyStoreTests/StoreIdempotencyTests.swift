import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyStore

/// `Idempotency-Key` claims and the writes that answer them, the same tests for SQLite and
/// PostgreSQL: the created resource's id is recorded in the resource's own transaction, so a
/// crash between that commit and the stored response (F1) never lets the request run twice.
@Suite("Stores: idempotency claims across a crash")
struct StoreIdempotencyTests {
    typealias Harness = StoreVerificationTests.Harness

    static let print: [UInt8] = [1, 2, 3]

    /// Claims `key` at `now` with the suite's fingerprint and the service's defaults.
    static func claim(_ store: any ServiceStore, _ key: String, at now: Date, fingerprint: [UInt8] = print) async throws -> IdempotencyClaim {
        try await store.claimIdempotencyKey(
            accountID: "acme", key: key, fingerprint: fingerprint, now: now, staleAfter: 60, retention: Idempotency.retention)
    }

    @Test(
        "a contact, a batch and a verification written under a claim name themselves on it: a retry hears committed, before and after the in-flight timeout",
        arguments: StoreKind.allCases)
    func committedWrites(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let now = h.clock.now()
            let existing = try await h.seed(contacts: 1)
            let account = Fixture.account("acme")

            // Each write commits under its claim, and its process "dies" before the response is stored.
            #expect(try await Self.claim(store, "contact", at: now) == .proceed)
            let contact = try Fixture.contact("acme", email: "new@example.com")
            try await store.insertContact(contact, idempotency: IdempotencyMark(accountID: "acme", key: "contact", claimedAt: now))

            #expect(try await Self.claim(store, "batch", at: now) == .proceed)
            let batch = Batch(id: Batch.makeID(), accountID: "acme", channel: .email, method: .link, total: 1, createdAt: now)
            try await store.createBatch(
                batch, contactIDs: [existing[0].id], idempotency: IdempotencyMark(accountID: "acme", key: "batch", claimedAt: now))

            #expect(try await Self.claim(store, "start", at: now) == .proceed)
            let verification = try await h.service.start(
                in: account, contactID: existing[0].id, channel: .email, method: .link, locale: nil,
                idempotency: IdempotencyMark(accountID: "acme", key: "start", claimedAt: now))

            for (key, id) in [("contact", contact.id), ("batch", batch.id), ("start", verification.id)] {
                // At once, and long after the in-flight timeout: never taken over, never run again.
                #expect(try await Self.claim(store, key, at: now.addingTimeInterval(1)) == .committed(resourceID: id))
                #expect(try await Self.claim(store, key, at: now.addingTimeInterval(3_600)) == .committed(resourceID: id))
                #expect(try await Self.claim(store, key, at: now.addingTimeInterval(1), fingerprint: [4]) == .mismatch)
                // A release (the request failed after its commit) keeps the record.
                try await store.releaseIdempotencyKey(IdempotencyMark(accountID: "acme", key: key, claimedAt: now))
                #expect(try await Self.claim(store, key, at: now.addingTimeInterval(2)) == .committed(resourceID: id))
            }
            #expect(try await store.outboxDepth() == 1)

            // The response rebuilt from the resource is stored once; the first stored one stays.
            try await store.completeIdempotencyKey(accountID: "acme", key: "start", status: 202, body: [7], now: now)
            try await store.completeIdempotencyKey(accountID: "acme", key: "start", status: 202, body: [8], now: now)
            #expect(try await Self.claim(store, "start", at: now.addingTimeInterval(3)) == .replay(status: 202, body: [7]))
        }
    }

    @Test(
        "a claim taken over after the in-flight timeout: the old request's write fails with 409 and leaves nothing, and its release keeps the new claim",
        arguments: StoreKind.allCases)
    func takenOver(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let t0 = h.clock.now()
            let contacts = try await h.seed(contacts: 1)
            let account = Fixture.account("acme")
            let old = IdempotencyMark(accountID: "acme", key: "k", claimedAt: t0)
            #expect(try await Self.claim(store, "k", at: t0) == .proceed)
            #expect(try await Self.claim(store, "k", at: t0.addingTimeInterval(59)) == .inFlight)
            let t1 = t0.addingTimeInterval(61)
            #expect(try await Self.claim(store, "k", at: t1) == .proceed)
            let new = IdempotencyMark(accountID: "acme", key: "k", claimedAt: t1)

            // The old request is still alive and writes now: every kind of write is refused whole.
            let contact = try Fixture.contact("acme", email: "late@example.com")
            let contactError = await #expect(throws: ServiceError.self) { try await store.insertContact(contact, idempotency: old) }
            #expect(contactError?.code == "idempotency_key_in_use")
            #expect(try await store.contact(accountID: "acme", id: contact.id) == nil)
            let batch = Batch(id: Batch.makeID(), accountID: "acme", channel: .email, method: .link, total: 1, createdAt: t0)
            let batchError = await #expect(throws: ServiceError.self) {
                try await store.createBatch(batch, contactIDs: [contacts[0].id], idempotency: old)
            }
            #expect(batchError?.code == "idempotency_key_in_use")
            #expect(try await store.batch(accountID: "acme", id: batch.id) == nil)
            let startError = await #expect(throws: ServiceError.self) {
                try await h.service.start(in: account, contactID: contacts[0].id, channel: .email, method: .link, locale: nil, idempotency: old)
            }
            #expect(startError?.code == "idempotency_key_in_use")
            #expect(try await store.outboxDepth() == 0)

            // The old request's release does not free the key the new one holds.
            try await store.releaseIdempotencyKey(old)
            #expect(try await Self.claim(store, "k", at: t1.addingTimeInterval(1)) == .inFlight)

            // The new request writes once; a release of its own claim before any write frees the key.
            let v = try await h.service.start(in: account, contactID: contacts[0].id, channel: .email, method: .link, locale: nil, idempotency: new)
            #expect(try await Self.claim(store, "k", at: t1.addingTimeInterval(1)) == .committed(resourceID: v.id))
            #expect(try await store.outboxDepth() == 1)
            #expect(try await Self.claim(store, "free", at: t1) == .proceed)
            try await store.releaseIdempotencyKey(IdempotencyMark(accountID: "acme", key: "free", claimedAt: t1))
            #expect(try await Self.claim(store, "free", at: t1.addingTimeInterval(1), fingerprint: [9]) == .proceed)
        }
    }
}
