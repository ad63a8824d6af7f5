import ContactVerifyCore
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Synchronization
import Testing

@testable import ContactVerifyStore

/// PostgreSQL's grouped verification updates: the updates of one group share a transaction,
/// yet each caller sees what it would have seen alone. The groups are run directly, so the
/// grouping these tests rely on does not depend on timing.
@Suite("PostgreSQL: verification updates in groups")
struct PostgresUpdateGroupTests {
    private struct Refused: Error {}

    /// What one job's caller heard.
    private typealias Answer = Result<(String, Verification)?, any Error>

    /// Runs one group of `updates` (keys and changes returning a label) and returns each caller's answer, in order.
    private static func runTogether(
        _ store: PostgresStore, _ updates: [(PostgresStore.VerificationKey, @Sendable (inout Verification, inout Contact?) throws -> String)]
    ) async -> [Answer] {
        let answers = Mutex<[Int: Answer]>([:])
        let jobs = updates.enumerated().map { index, update in
            PostgresStore.updateJob(update.0, now: Fixture.now, update.1) { answer in answers.withLock { $0[index] = answer } }
        }
        await store.runGroup(jobs)
        return answers.withLock { answers in updates.indices.map { answers[$0] ?? .failure(Refused()) } }
    }

    /// A PostgreSQL store with an account that has a callback URL and `contacts` contacts, each
    /// with a pending email link verification (and the SMS code one for the first contact).
    private static func withStore(
        contacts count: Int,
        _ body: (PostgresStore, [Contact], [Verification], Verification) async throws -> Void
    ) async throws {
        try await StoreKind.postgres.with { store in
            let h = StoreVerificationTests.Harness(store: store)
            let account = StoreVerificationTests.Harness.accountWithCallback("acme")
            let contacts = try await h.seed(account, contacts: count)
            var links: [Verification] = []
            for contact in contacts {
                links.append(try await h.service.start(in: account, contactID: contact.id, channel: .email, method: .link, locale: nil))
            }
            let sms = try await h.service.start(in: account, contactID: contacts[0].id, channel: .sms, method: .code, locale: nil)
            try await body(try #require(store as? PostgresStore), contacts, links, sms)
        }
    }

    @Test("a group's changes run on an event loop thread, after the lock's round trip too; other transactions stay off the loops")
    func groupRunsOnEventLoop() async throws {
        try await Self.withStore(contacts: 2) { store, _, links, _ in
            let onLoop = Mutex<[Bool]>([])
            let answers = await Self.runTogether(store, links.map { link in
                (.id(link.id), { v, contact in
                    onLoop.withLock { $0.append(MultiThreadedEventLoopGroup.currentEventLoop != nil) }
                    Fixture.approve(&v, &contact)
                    return "approved"
                })
            })
            #expect(answers.allSatisfy { (try? $0.get())??.0 == "approved" })
            #expect(onLoop.withLock { $0 } == [true, true])
            let plain = try await store.transaction { connection in
                _ = try await connection.query("SELECT 1", logger: store.logger)
                return MultiThreadedEventLoopGroup.currentEventLoop != nil
            }
            #expect(!plain)
        }
    }

    @Test("updates of one contact's two verifications, and of one verification twice, each see the changes before them")
    func sharedRows() async throws {
        try await Self.withStore(contacts: 1) { store, contacts, links, sms in
            let link = links[0]
            let answers = await Self.runTogether(store, [
                (.tokenKey(try #require(link.tokenKey)), { v, contact in Fixture.approve(&v, &contact); return "link" }),
                (.id(sms.id), { v, contact in Fixture.approve(&v, &contact); return "sms" }),
                (.tokenKey(try #require(link.tokenKey)), { v, _ in v.status.rawValue }),
            ])
            let values = try answers.map { try #require(try $0.get()) }
            #expect(values.map(\.0) == ["link", "sms", "approved"], "the third saw the first's change")
            #expect(values.map(\.1.status) == [.approved, .approved, .approved])
            // Both changes of the one contact are kept: neither write replaced the other's.
            let contact = try #require(try await store.contact(accountID: "acme", id: contacts[0].id))
            #expect(contact.email?.status == .verified && contact.phone?.status == .verified)
            #expect(try await store.verification(accountID: "acme", id: link.id)?.status == .approved)
            #expect(try await store.verification(accountID: "acme", id: sms.id)?.status == .approved)
            // One event per verification that left pending, not one per update.
            let events = try await store.events(accountID: "acme", limit: 10)
            #expect(events.count == 2)
            // Each approval canceled its own queued message.
            #expect(try await store.latestMessage(verificationID: link.id)?.status == .canceled)
            #expect(try await store.latestMessage(verificationID: sms.id)?.status == .canceled)
        }
    }

    @Test("a change that throws keeps none of its changes; an unknown key finds nothing; the group's other updates commit")
    func thrownChangeAlone() async throws {
        try await Self.withStore(contacts: 2) { store, contacts, links, sms in
            let answers = await Self.runTogether(store, [
                (.tokenKey(try #require(links[0].tokenKey)), { v, contact in
                    Fixture.approve(&v, &contact)
                    throw Refused()
                }),
                (.id("vf_unknown"), { _, _ in "unknown" }),
                (.tokenKey(try #require(links[1].tokenKey)), { v, contact in Fixture.approve(&v, &contact); return "second" }),
            ])
            #expect(throws: Refused.self) { try answers[0].get() }
            #expect(try answers[1].get() == nil)
            #expect(try answers[2].get()?.0 == "second")
            #expect(try await store.verification(accountID: "acme", id: links[0].id)?.status == .pending)
            #expect(try await store.contact(accountID: "acme", id: contacts[0].id)?.email?.status == .pending)
            #expect(try await store.latestMessage(verificationID: links[0].id)?.status == .queued)
            #expect(try await store.verification(accountID: "acme", id: links[1].id)?.status == .approved)
            #expect(try await store.contact(accountID: "acme", id: contacts[1].id)?.email?.status == .verified)
            #expect(try await store.verification(accountID: "acme", id: sms.id)?.status == .pending)
        }
    }

    @Test("a group PostgreSQL refuses runs again one update at a time: only the offending caller hears the error")
    func refusedGroupSplits() async throws {
        try await Self.withStore(contacts: 2) { store, contacts, links, _ in
            let takenKey = try #require(contacts[1].email?.key)
            let answers = await Self.runTogether(store, [
                (.id(links[0].id), { _, contact in
                    contact?.email?.key = takenKey  // another contact's address: the write breaks a unique index
                    return "clash"
                }),
                (.id(links[1].id), { v, contact in Fixture.approve(&v, &contact); return "fine" }),
            ])
            #expect(throws: (any Error).self) { try answers[0].get() }
            if case .failure(let error) = answers[0] { #expect(PostgresState.of(error) == PostgresState.uniqueViolation) }
            #expect(try answers[1].get()?.0 == "fine")
            #expect(try await store.contact(accountID: "acme", id: contacts[0].id)?.email?.key == contacts[0].email?.key)
            #expect(try await store.verification(accountID: "acme", id: links[1].id)?.status == .approved)
        }
    }

    @Test("a confirmation rewrites its verification and contact in place, adding no index entry (HOT updates); the status filter follows")
    func confirmationUpdatesAreHeapOnly() async throws {
        try await Self.withStore(contacts: 1) { store, contacts, links, _ in
            let job = PostgresStore.updateJob(.tokenKey(try #require(links[0].tokenKey)), now: Fixture.now, { v, contact in
                Fixture.approve(&v, &contact)
            }) { _ in }
            // PostgreSQL's statistics of this backend (not flushed within a transaction), before
            // and after the group's writes, in the group's own transaction: per table, rows
            // updated and rows updated without new index entries.
            let changes = try await store.transaction { connection in
                func counts() async throws -> [Int64] {
                    let row = try #require(try await connection.rows(
                        """
                        SELECT pg_stat_get_xact_tuples_updated('verifications'::regclass) AS v,
                            pg_stat_get_xact_tuples_hot_updated('verifications'::regclass) AS v_hot,
                            pg_stat_get_xact_tuples_updated('contacts'::regclass) AS c,
                            pg_stat_get_xact_tuples_hot_updated('contacts'::regclass) AS c_hot
                        """, Logger(label: "test")).first)
                    return ["v", "v_hot", "c", "c_hot"].map { row.integer($0) ?? -1 }
                }
                let before = try await counts()
                _ = try await PostgresStore.applyGroup([job], connection, Logger(label: "test"))
                return zip(try await counts(), before).map { $0 - $1 }
            }
            #expect(changes == [1, 1, 1, 1], "an index names a column the confirmation changes (verification, HOT, contact, HOT)")
            let verified = try await store.listContacts(
                accountID: "acme", filter: ContactFilter(channel: .email, status: .verified), limit: 10, cursor: nil)
            #expect(verified.items.map(\.id) == [contacts[0].id])
        }
    }

    @Test("a group that finds its verifications by token alone locks them with a plan made once a connection, not on every run")
    func tokenLockPlanIsReused() async throws {
        try await Self.withStore(contacts: 12) { store, _, links, _ in
            let keys = try links.map { PostgresStore.VerificationKey.tokenKey(try #require($0.tokenKey)) }
            let logger = Logger(label: "test")
            // PostgreSQL plans a prepared statement's first five runs for their values, then keeps
            // one plan for every run unless the values make a cheaper one (`custom_plans` and
            // `generic_plans` count which ran on this connection). Costs are those of a store of
            // some size: 5,000 more verifications (copies of one with new ids and tokens).
            let (found, plans) = try await store.client.withConnection { connection in
                _ = try await connection.rows(
                    """
                    INSERT INTO verifications OVERRIDING SYSTEM VALUE
                    SELECT (jsonb_populate_record(one.v, jsonb_build_object(
                        'seq', 1000000 + i, 'id', (one.v).id || '_' || i,
                        'token_key', '\\x' || encode(sha256(((one.v).id || i)::bytea), 'hex')))).*
                    FROM (SELECT v FROM verifications v LIMIT 1) one, generate_series(1, 5000) i
                    """, logger)
                _ = try await connection.rows("ANALYZE verifications", logger)
                var found = 0
                for _ in 0..<8 {
                    found = try await Self.lockCount(keys, connection, logger)
                }
                let row = try #require(try await connection.rows(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'cv_lock_group_by_token'", logger
                ).first)
                return (found, [row.integer("generic_plans") ?? -1, row.integer("custom_plans") ?? -1])
            }
            #expect(found == keys.count)
            #expect(plans == [3, 5], "(generic, custom) plans of eight runs")
        }
    }

    /// How many verifications a group of `keys` locks on `connection` (in a transaction of its own).
    private static func lockCount(_ keys: [PostgresStore.VerificationKey], _ connection: PostgresConnection, _ logger: Logger) async throws -> Int {
        try await connection.withTransaction(logger: logger) { connection in
            let rows = try await PostgresStore.GroupRows.lock(keys, connection, logger)
            return keys.count(where: { rows.locked($0) != nil })
        }
    }
}
