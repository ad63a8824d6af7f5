import ContactVerifyCore
import Foundation
import GRDB
import Logging
import PostgresNIO
import Synchronization
import TestServers
import Testing

@testable import ContactVerifyStore

/// Verifications, limits, the outbox, batches, idempotency and events through the store
/// protocols, the same tests for SQLite and PostgreSQL: every race the service relies on the
/// store to settle.
@Suite("Stores: verifications, limits, outbox, batches")
struct StoreVerificationTests {
    /// The services of one test over one store, at a manual clock.
    struct Harness {
        let store: any ServiceStore
        let clock = ManualWallClock(Fixture.now)
        let secret = ServerSecret(bytes: Array(repeating: 7, count: 32))
        var policy = VerificationPolicy()

        var service: VerificationService {
            VerificationService(
                store: store, clock: clock, policy: policy, secret: secret, pool: HashingPool(maxConcurrent: 2, maxWaiting: 1_000),
                resolveLocale: { _ in "en" }, onEnqueue: {})
        }
        var secrets: VerificationSecrets { VerificationSecrets(secret: secret, codeDigits: policy.codeDigits) }

        /// An account whose changes queue events (its callback URL is never called here).
        static func accountWithCallback(_ id: String) -> Account {
            var account = Fixture.account(id)
            account.callbackURL = "http://127.0.0.1:9/hook"
            return account
        }

        /// An account and `count` contacts with distinct phones and emails.
        func seed(_ account: Account = Fixture.account("acme"), contacts count: Int) async throws -> [Contact] {
            _ = try await store.putAccount(account)
            var contacts: [Contact] = []
            for i in 0..<count {
                let contact = try Fixture.contact(
                    account.id, name: "C\(i)", email: "c\(i)@example.com", phone: "+86138\(String(format: "%08d", i))")
                try await store.insertContact(contact)
                contacts.append(contact)
            }
            return contacts
        }
    }

    /// Runs `body` `count` times at once and returns the results.
    static func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async -> [Result<T, any Error>] {
        await withTaskGroup(of: Result<T, any Error>.self) { group in
            for i in 0..<count {
                group.addTask {
                    do { return .success(try await body(i)) } catch { return .failure(error) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    static func code(_ result: Result<some Any, any Error>) -> String? {
        if case .failure(let error) = result { return (error as? ServiceError)?.code ?? "\(error)" }
        return nil
    }

    // MARK: Single use

    @Test("of 20 concurrent checks with the right code, exactly one approves", arguments: StoreKind.allCases)
    func singleUseCode(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let contact = try await h.seed(contacts: 1)[0]
            let account = try #require(try await store.account(id: "acme"))
            let v = try await h.service.start(in: account, contactID: contact.id, channel: .sms, method: .code, locale: nil)
            let code = h.secrets.secret(for: v)
            let service = h.service
            let results = await Self.concurrently(20) { _ in try await service.check(in: account, verificationID: v.id, code: code) }
            #expect(results.filter { if case .success = $0 { true } else { false } }.count == 1)
            #expect(results.compactMap(Self.code).allSatisfy { $0 == "verification_not_pending" }, "\(results.compactMap(Self.code))")
            #expect(try await store.contact(accountID: "acme", id: contact.id)?.phone?.status == .verified)
            #expect(try await store.events(accountID: "acme", limit: 10).isEmpty, "no callback URL: no events")
        }
    }

    @Test("of 20 concurrent confirmations of one link, exactly one confirms", arguments: StoreKind.allCases)
    func singleUseLink(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let contacts = try await h.seed(contacts: 2)
            let account = try #require(try await store.account(id: "acme"))
            let v = try await h.service.start(in: account, contactID: contacts[0].id, channel: .email, method: .link, locale: nil)
            let other = try await h.service.start(in: account, contactID: contacts[1].id, channel: .email, method: .link, locale: nil)
            let token = h.secrets.secret(for: v)
            let service = h.service
            let results = await Self.concurrently(20) { _ in try await service.confirm(token: token) }
            let outcomes = results.compactMap { try? $0.get().0 }
            #expect(outcomes.count == 20)
            #expect(outcomes.filter { $0 == .confirmed }.count == 1)
            #expect(outcomes.filter { $0 == .alreadyVerified }.count == 19)
            // Each answer carries the verification the token found, as saved.
            let found = results.compactMap { try? $0.get().1 }
            #expect(found.count == 20 && found.allSatisfy { $0.id == v.id && $0.status == .approved })
            // A well-formed token nobody was given finds nothing and changes nothing.
            let unknown = try await service.confirm(token: String(repeating: "A", count: SecretDeriver.linkTokenLength))
            #expect(unknown.0 == .invalid && unknown.1 == nil)
            // The token verified its own contact and nobody else.
            #expect(try await store.contact(accountID: "acme", id: contacts[0].id)?.email?.status == .verified)
            #expect(try await store.contact(accountID: "acme", id: contacts[1].id)?.email?.status == .pending)
            #expect(try await store.verification(accountID: "acme", id: other.id)?.status == .pending)
            // The approval canceled its own message still queued, and only that one.
            #expect(try await store.latestMessage(verificationID: v.id)?.status == .canceled)
            #expect(try await store.latestMessage(verificationID: other.id)?.status == .queued)
        }
    }

    @Test("a start of another method cancels the open verification: one pending per contact and channel", arguments: StoreKind.allCases)
    func startCancelsOpen(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let contact = try await h.seed(contacts: 1)[0]
            let account = Fixture.account("acme")
            let code = try await h.service.start(in: account, contactID: contact.id, channel: .email, method: .code, locale: nil)
            let link = try await h.service.start(in: account, contactID: contact.id, channel: .email, method: .link, locale: nil)
            #expect(link.id != code.id)
            #expect(try await store.verification(accountID: "acme", id: code.id)?.status == .canceled)
            #expect(try await store.verification(accountID: "acme", id: link.id)?.status == .pending)
        }
    }

    @Test("a link whose contact was deleted still finds its verification, canceled, and changes nothing", arguments: StoreKind.allCases)
    func linkOfDeletedContact(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let contacts = try await h.seed(contacts: 1)
            let account = try #require(try await store.account(id: "acme"))
            let v = try await h.service.start(in: account, contactID: contacts[0].id, channel: .email, method: .link, locale: nil)
            #expect(try await store.deleteContact(accountID: "acme", id: contacts[0].id, now: Fixture.now))
            // PostgreSQL locks a verification with its contact in one statement: without the
            // contact, it must still find the verification (locked alone).
            let (outcome, found) = try await h.service.confirm(token: h.secrets.secret(for: v))
            #expect(outcome == .invalid)
            #expect(found?.id == v.id && found?.status == .canceled)
            #expect(try await store.verification(accountID: "acme", id: v.id)?.status == .canceled)
        }
    }

    @Test(
        "the expiry sweep expires the pending verifications whose time is up, and only those; PostgreSQL keeps no expiry row past its sweep",
        arguments: StoreKind.allCases)
    func expirySweep(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let c = try await h.seed(contacts: 4)
            let account = try #require(try await store.account(id: "acme"))
            func start(_ contact: Contact) async throws -> Verification {
                try await h.service.start(in: account, contactID: contact.id, channel: .sms, method: .code, locale: nil)
            }
            let approved = try await start(c[0])
            _ = try await store.updateVerification(id: approved.id, now: h.clock.now()) { v, _ in v.status = .approved }
            let due = try await start(c[1])
            let canceled = try await start(c[2])
            #expect(try await store.deleteContact(accountID: "acme", id: c[2].id, now: h.clock.now()))
            h.clock.advance(by: 1)
            let later = try await start(c[3])
            // The rows PostgreSQL's sweep reads (SQLite reads its partial index instead).
            func expiryRows() async throws -> Int64? {
                kind == .postgres ? try await Self.integers(store, "SELECT count(*) AS n FROM verification_expiries").first : nil
            }
            #expect(try await expiryRows() == (kind == .postgres ? 4 : nil))

            h.clock.advance(by: due.expiresAt.timeIntervalSince(h.clock.now()))
            #expect(try await store.expireDue(now: h.clock.now()) == 1)
            var statuses: [VerificationStatus?] = []
            for v in [approved, due, canceled, later] { statuses.append(try await store.verification(accountID: "acme", id: v.id)?.status) }
            #expect(statuses == [.approved, .expired, .canceled, .pending])
            #expect(try await expiryRows() == (kind == .postgres ? 1 : nil), "only the verification not yet due keeps its row")

            h.clock.advance(by: 1)
            #expect(try await store.expireDue(now: h.clock.now()) == 1)
            #expect(try await store.verification(accountID: "acme", id: later.id)?.status == .expired)
            #expect(try await store.expireDue(now: h.clock.now()) == 0)
            #expect(try await expiryRows() == (kind == .postgres ? 0 : nil))
        }
    }

    // MARK: Limits

    @Test("the expiry sweep forgets sends older than a day and an hour and SMS day counts older than yesterday", arguments: StoreKind.allCases)
    func sendLogPurge(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            _ = try await h.seed(contacts: 1)  // the account the rows belong to
            let now = Fixture.now.millisecondsSince1970, today = StoreSQL.startOfDay(Fixture.now)
            let day: Int64 = 86_400_000, window = day + 3_600_000  // the limit's day, and an hour for clock skew
            try await Self.execute(
                store,
                """
                INSERT INTO send_log (account_id, channel, address_key, sent_at)
                VALUES ('acme', 'sms', 'k', \(now - window)), ('acme', 'sms', 'k', \(now - window + 1)), ('acme', 'sms', 'k', \(now))
                """)
            try await Self.execute(
                store,
                "INSERT INTO sms_day_counts (account_id, day, count) VALUES ('acme', \(today - 2 * day), 1), ('acme', \(today - day), 2), ('acme', \(today), 3)")
            _ = try await store.expireDue(now: Fixture.now)
            // What the limits still read (the last 24 hours, today), with a margin, stays; nothing older does.
            #expect(try await Self.integers(store, "SELECT sent_at AS n FROM send_log ORDER BY sent_at") == [now - window + 1, now])
            #expect(try await Self.integers(store, "SELECT day AS n FROM sms_day_counts ORDER BY day") == [today - day, today])
        }
    }

    /// Runs a statement on the store's database, under the store (test set-up).
    static func execute(_ store: any ServiceStore, _ sql: String) async throws {
        if let sqlite = store as? SQLiteStore {
            try await sqlite.writer.write { db in try db.execute(sql: sql) }
        } else if let postgres = store as? PostgresStore {
            _ = try await postgres.rows(PostgresQuery(unsafeSQL: sql))
        }
    }

    /// The `n` column of a query's rows on the store's database.
    static func integers(_ store: any ServiceStore, _ sql: String) async throws -> [Int64] {
        if let sqlite = store as? SQLiteStore {
            return try await sqlite.pool.read { db in try SQLiteRow.fetchAll(db, sql: sql).compactMap { $0.integer("n") } }
        } else if let postgres = store as? PostgresStore {
            return try await postgres.rows(PostgresQuery(unsafeSQL: sql)).compactMap { $0.integer("n") }
        }
        return []
    }


    @Test("PostgreSQL: a confirmation's prepared statements still run after a migration adds columns to their tables")
    func preparedStatementsAfterMigration() async throws {
        var configuration = try await PostgresServer.makeConfiguration()
        configuration.poolSize = 1  // one connection: the second confirmation reuses the first's prepared statements
        let store = try await PostgresStore(configuration, logger: Logger(label: "test"))
        defer { Task { await store.close() } }
        let h = Harness(store: store)
        let contacts = try await h.seed(contacts: 2)
        let account = try #require(try await store.account(id: "acme"))
        var tokens: [String] = []
        for contact in contacts {
            let v = try await h.service.start(in: account, contactID: contact.id, channel: .email, method: .link, locale: nil)
            tokens.append(h.secrets.secret(for: v))
        }
        #expect(try await h.service.confirm(token: tokens[0]).0 == .confirmed)
        // What a newer instance's migration may do while this one runs (a shared store): a
        // statement that named `*` would now fail with "cached plan must not change result type".
        for table in ["verifications", "contacts", "accounts", "messages"] {
            _ = try await store.rows(PostgresQuery(unsafeSQL: "ALTER TABLE \(table) ADD COLUMN added_later TEXT"))
        }
        #expect(try await h.service.confirm(token: tokens[1]).0 == .confirmed)
        #expect(try await store.contact(accountID: "acme", id: contacts[1].id)?.email?.status == .verified)
    }
    @Test("the daily SMS limit holds under 12 concurrent starts: exactly the limit's worth succeed", arguments: StoreKind.allCases)
    func dailySMSLimit(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            var account = Fixture.account("acme")
            account.dailySmsLimit = 5
            let contacts = try await h.seed(account, contacts: 12)
            let service = h.service
            let limited = account
            let results = await Self.concurrently(12) { i in
                try await service.start(in: limited, contactID: contacts[i].id, channel: .sms, method: .code, locale: nil)
            }
            #expect(results.filter { if case .success = $0 { true } else { false } }.count == 5)
            #expect(results.compactMap(Self.code).allSatisfy { $0 == "daily_sms_limit_reached" }, "\(results.compactMap(Self.code))")
            #expect(try await store.outboxDepth() == 5)
        }
    }

    @Test("the daily SMS count starts again at UTC midnight, and emails do not count", arguments: StoreKind.allCases)
    func dailySMSLimitDay(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            var account = Fixture.account("acme")
            account.dailySmsLimit = 2
            let contacts = try await h.seed(account, contacts: 4)
            let limited = account
            /// Starts an SMS (or an email) link; nil when it was accepted, else the error code.
            func start(_ contact: Contact, _ channel: VerificationChannel = .sms) async -> String? {
                do {
                    _ = try await h.service.start(in: limited, contactID: contact.id, channel: channel, method: .link, locale: nil)
                    return nil
                } catch { return (error as? ServiceError)?.code ?? "\(error)" }
            }
            #expect(await start(contacts[0], .email) == nil)
            #expect(await start(contacts[1], .email) == nil)
            #expect(await start(contacts[0]) == nil)
            #expect(await start(contacts[1]) == nil)
            #expect(await start(contacts[2]) == "daily_sms_limit_reached")
            // The next UTC day: the limit's worth again, and not one more.
            let now = h.clock.now().timeIntervalSince1970
            h.clock.advance(by: (now / 86_400).rounded(.down) * 86_400 + 86_400 - now)
            #expect(await start(contacts[2]) == nil)
            #expect(await start(contacts[3]) == nil)
            #expect(await start(contacts[0]) == "daily_sms_limit_reached")
        }
    }

    @Test("the resend cooldown holds under 10 concurrent resends: one message, nine refusals", arguments: StoreKind.allCases)
    func resendCooldown(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let contact = try await h.seed(contacts: 1)[0]
            let account = try #require(try await store.account(id: "acme"))
            let first = try await h.service.start(in: account, contactID: contact.id, channel: .sms, method: .code, locale: nil)
            h.clock.advance(by: 31)
            let service = h.service
            let results = await Self.concurrently(10) { _ in
                try await service.start(in: account, contactID: contact.id, channel: .sms, method: .code, locale: nil)
            }
            let resent = results.compactMap { try? $0.get() }
            #expect(resent.count == 1)
            #expect(resent.first?.id == first.id, "a resend keeps the verification (and its secret)")
            #expect(results.compactMap(Self.code).allSatisfy { $0 == "resend_cooldown" }, "\(results.compactMap(Self.code))")
            #expect(try await store.verification(accountID: "acme", id: first.id)?.sendCount == 2)
            #expect(try await store.outboxDepth() == 2)
        }
    }

    // MARK: Outbox claims

    @Test("four workers claiming at once take each of 60 messages exactly once; a lease keeps it until it runs out", arguments: StoreKind.allCases)
    func outboxClaims(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let contacts = try await h.seed(contacts: 60)
            let account = try #require(try await store.account(id: "acme"))
            for contact in contacts {
                _ = try await h.service.start(in: account, contactID: contact.id, channel: .email, method: .link, locale: nil)
            }
            let now = h.clock.now()
            let results = await Self.concurrently(4) { _ in
                var mine: [String] = []
                while true {
                    let claimed = try await store.claimDueMessages(now: now, leaseUntil: now.addingTimeInterval(60), limit: 7)
                    if claimed.isEmpty { return mine }
                    mine += claimed.map(\.message.id)
                }
            }
            let claimed = results.compactMap { try? $0.get() }.flatMap { $0 }
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "\(results)")
            #expect(claimed.count == 60)
            #expect(Set(claimed).count == 60, "a message was claimed twice")
            // Leased: nobody gets them again before the lease ends; everyone after it.
            #expect(try await store.claimDueMessages(now: now.addingTimeInterval(59), leaseUntil: now.addingTimeInterval(120), limit: 100).isEmpty)
            let again = try await store.claimDueMessages(now: now.addingTimeInterval(61), leaseUntil: now.addingTimeInterval(120), limit: 100)
            #expect(again.count == 60)
            #expect(again.allSatisfy { $0.message.attempts == 2 && $0.accountName == "acme" && $0.contactName?.hasPrefix("C") == true })
            // A recorded outcome leaves the outbox.
            try await store.recordDelivery(messageID: again[0].message.id, now: now) { m, _, _ in m.status = .sent }
            #expect(try await store.outboxDepth() == 59)
            #expect(try await store.latestMessage(verificationID: again[0].verification.id)?.status == .sent)
        }
    }

    // MARK: Batches

    @Test("two runners on one batch start each contact once; counts add up; one batch.completed event", arguments: StoreKind.allCases)
    func batchRunners(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let account = Harness.accountWithCallback("acme")
            let contacts = try await h.seed(account, contacts: 40)
            let batch = Batch(id: Batch.makeID(), accountID: "acme", channel: .email, method: .link, total: 40, createdAt: h.clock.now())
            try await store.createBatch(batch, contactIDs: contacts.map(\.id))
            let runners = [BatchService(store: store, verifications: h.service, clock: h.clock),
                           BatchService(store: store, verifications: h.service, clock: h.clock)]
            let results = await Self.concurrently(2) { i in
                var worked = 0
                while true {
                    let n = try await runners[i].runOnce(limit: 6)
                    if n == 0 { return worked }
                    worked += n
                }
            }
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "\(results)")
            #expect(try await store.outboxDepth() == 40, "one message per contact")
            let counts = try await store.batchCounts(batchID: batch.id)
            #expect(counts.sum == 40)
            #expect(counts[.queued] == 40)
            var items: [BatchItem] = []
            var cursor: String?
            repeat {
                let page = try await store.batchItems(batchID: batch.id, limit: 15, cursor: cursor)
                items += page.items
                cursor = page.nextCursor
            } while cursor != nil
            #expect(items.map(\.contactID) == contacts.map(\.id), "items page in request order")
            #expect(Set(items.compactMap(\.verificationID)).count == 40)
            #expect(try await store.batch(accountID: "acme", id: batch.id)?.status == .completed)
            #expect(try await store.completeBatches(now: h.clock.now()).isEmpty)
            let events = try await store.events(accountID: "acme", limit: 100)
            #expect(events.filter { $0.type == "batch.completed" }.count == 1)
        }
    }

    // MARK: Idempotency and events

    @Test("of 10 concurrent first uses of an Idempotency-Key, one proceeds and nine hear it is in flight", arguments: StoreKind.allCases)
    func idempotencyRace(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            _ = try await h.seed(contacts: 0)
            let now = h.clock.now()
            let print: [UInt8] = [1, 2, 3]
            let results = await Self.concurrently(10) { _ in
                try await store.claimIdempotencyKey(
                    accountID: "acme", key: "k1", fingerprint: print, now: now, staleAfter: 60, retention: 86_400)
            }
            let claims = results.compactMap { try? $0.get() }
            #expect(claims.filter { $0 == .proceed }.count == 1)
            #expect(claims.filter { $0 == .inFlight }.count == 9)
            try await store.completeIdempotencyKey(accountID: "acme", key: "k1", status: 201, body: [9], now: now)
            #expect(try await store.claimIdempotencyKey(accountID: "acme", key: "k1", fingerprint: print, now: now, staleAfter: 60, retention: 86_400)
                == .replay(status: 201, body: [9]))
            #expect(try await store.claimIdempotencyKey(accountID: "acme", key: "k1", fingerprint: [4], now: now, staleAfter: 60, retention: 86_400)
                == .mismatch)
            // After the retention the key is new again.
            #expect(try await store.claimIdempotencyKey(
                accountID: "acme", key: "k1", fingerprint: [4], now: now.addingTimeInterval(86_401), staleAfter: 60, retention: 86_400) == .proceed)
        }
    }

    @Test("a commit that queues an event wakes the event worker, once; a write without one, or without a callback URL, does not", arguments: StoreKind.allCases)
    func eventsQueuedWake(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let account = Harness.accountWithCallback("acme")
            let contacts = try await h.seed(account, contacts: 2)
            let quiet = Fixture.account("quiet")
            let quietContact = try await h.seed(quiet, contacts: 1)[0]
            let wakes = Mutex(0)
            store.onEventsQueued { wakes.withLock { $0 += 1 } }

            let link = try await h.service.start(in: account, contactID: contacts[0].id, channel: .email, method: .link, locale: nil)
            #expect(wakes.withLock { $0 } == 0, "a start queues a message, not an event")
            #expect(try await h.service.confirm(token: h.secrets.secret(for: link)).0 == .confirmed)
            #expect(wakes.withLock { $0 } == 1, "verification.approved")
            let unheard = try await h.service.start(in: quiet, contactID: quietContact.id, channel: .email, method: .link, locale: nil)
            #expect(try await h.service.confirm(token: h.secrets.secret(for: unheard)).0 == .confirmed)
            #expect(wakes.withLock { $0 } == 1, "no callback URL, no event")

            // The expiry sweep queues verification.expired through the store's other write path.
            _ = try await h.service.start(in: account, contactID: contacts[1].id, channel: .email, method: .link, locale: nil)
            h.clock.advance(by: 2 * 86_400)
            #expect(try await store.expireDue(now: h.clock.now()) == 1)
            #expect(wakes.withLock { $0 } == 2, "verification.expired")
            let types = try await store.events(accountID: "acme", limit: 10).map(\.type)
            #expect(types.sorted() == ["verification.approved", "verification.expired"])
        }
    }

    @Test("an approval queues one signed-event row in its transaction; concurrent claimers take it once", arguments: StoreKind.allCases)
    func eventClaims(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = Harness(store: store)
            let account = Harness.accountWithCallback("acme")
            let contacts = try await h.seed(account, contacts: 10)
            for contact in contacts {
                let v = try await h.service.start(in: account, contactID: contact.id, channel: .email, method: .link, locale: nil)
                #expect(try await h.service.confirm(token: h.secrets.secret(for: v)).0 == .confirmed)
            }
            let now = h.clock.now()
            let results = await Self.concurrently(3) { _ in
                try await store.claimDueEvents(now: now, leaseUntil: now.addingTimeInterval(60), limit: 4).map(\.event.id)
            }
            let first = results.compactMap { try? $0.get() }.flatMap { $0 }
            #expect(Set(first).count == first.count)
            let rest = try await store.claimDueEvents(now: now, leaseUntil: now.addingTimeInterval(60), limit: 100).map(\.event.id)
            #expect(Set(first + rest).count == 10)
            #expect(first.count + rest.count == 10)
            let events = try await store.events(accountID: "acme", limit: 100)
            #expect(events.allSatisfy { $0.type == "verification.approved" && $0.status == .sending && $0.attempts == 1 })
        }
    }
}
