import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyStore

/// Contacts through the ``Store`` API, the same tests for SQLite and PostgreSQL: unique
/// addresses under concurrency, freeing an address on delete, and stable cursor pagination.
@Suite("Stores: contacts")
struct StoreContactTests {
    // MARK: Unique addresses under concurrency

    @Test(
        "of 20 concurrent creates with one normalized address, exactly one wins and 19 get the conflict",
        arguments: StoreKind.allCases, [AddressChannel.email, .phone])
    func concurrentCreatesOfOneAddress(kind: StoreKind, channel: AddressChannel) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            // Twenty spellings of one address, so the store must compare the normalized key.
            let contacts = try (0..<20).map { i in
                channel == .email
                    ? try Fixture.contact("acme", name: "C\(i)", email: i.isMultiple(of: 2) ? "Ann@Example.COM" : "ann@EXAMPLE.com")
                    : try Fixture.contact("acme", name: "C\(i)", phone: i.isMultiple(of: 2) ? "+86 138 0013 8000" : "+8613800138000")
            }
            let outcomes = await withTaskGroup(of: (String, Result<Void, any Error>).self) { group in
                for contact in contacts {
                    group.addTask {
                        do {
                            try await store.insertContact(contact)
                            return (contact.id, .success(()))
                        } catch {
                            return (contact.id, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }

            let winners = outcomes.filter { if case .success = $0.1 { true } else { false } }.map(\.0)
            try #require(winners.count == 1, "winners: \(winners)")
            let winner = winners[0]
            let expectedCode = channel == .email ? "email_taken" : "phone_taken"
            let losers = outcomes.filter { $0.0 != winner }
            #expect(losers.count == 19)
            for (id, outcome) in losers {
                guard case .failure(let error) = outcome else { continue }
                let serviceError = error as? ServiceError
                #expect(serviceError?.kind == .conflict, "\(id): \(error)")
                #expect(serviceError?.code == expectedCode, "\(id): \(error)")
                #expect(serviceError?.extra["conflictingContactId"] == .string(winner), "\(id)")
            }

            let key = channel == .email ? "ann@example.com" : "+8613800138000"
            #expect(try await store.contactHolding(accountID: "acme", channel: channel, key: key)?.id == winner)
            let all = try await store.listContacts(accountID: "acme", filter: ContactFilter(), limit: 100, cursor: nil)
            #expect(all.items.map(\.id) == [winner])
        }
    }

    @Test("the same address in another account is not a conflict", arguments: StoreKind.allCases)
    func otherAccountsAreUnaffected(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            _ = try await store.putAccount(Fixture.account("globex"))
            let ann = try Fixture.contact("acme", email: "ann@example.com", phone: "+8613800138000")
            let other = try Fixture.contact("globex", email: "ANN@example.com", phone: "+86 138 0013 8000")
            try await store.insertContact(ann)
            try await store.insertContact(other)
            #expect(try await store.contactHolding(accountID: "acme", channel: .email, key: "ann@example.com")?.id == ann.id)
            #expect(try await store.contactHolding(accountID: "globex", channel: .email, key: "ann@example.com")?.id == other.id)
            #expect(try await store.contactHolding(accountID: "globex", channel: .phone, key: "+8613800138000")?.id == other.id)
        }
    }

    // MARK: Delete frees the address

    @Test("deleting a contact frees its email and phone at once", arguments: StoreKind.allCases)
    func deleteFreesAddresses(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            let first = try Fixture.contact("acme", name: "Ann", email: "ann@example.com", phone: "+8613800138000")
            try await store.insertContact(first)

            // Held: a second contact with either address is refused.
            let blocked = try Fixture.contact("acme", name: "Bob", email: "Ann@Example.com")
            let error = await #expect(throws: ServiceError.self) { try await store.insertContact(blocked) }
            #expect(error?.code == "email_taken")
            #expect(error?.extra["conflictingContactId"] == .string(first.id))

            #expect(try await store.deleteContact(accountID: "acme", id: first.id, now: Fixture.now))
            #expect(try await store.contact(accountID: "acme", id: first.id) == nil)
            #expect(try await store.contactHolding(accountID: "acme", channel: .email, key: "ann@example.com") == nil)
            #expect(try await store.contactHolding(accountID: "acme", channel: .phone, key: "+8613800138000") == nil)

            // Free: the very next write may take both addresses.
            let second = try Fixture.contact("acme", name: "Bob", email: "ANN@example.com", phone: "+86 138 0013 8000")
            try await store.insertContact(second)
            #expect(try await store.contactHolding(accountID: "acme", channel: .email, key: "ann@example.com")?.id == second.id)
            #expect(try await store.contactHolding(accountID: "acme", channel: .phone, key: "+8613800138000")?.id == second.id)

            // A second delete of the first contact finds nothing and leaves the new holder alone.
            #expect(try await store.deleteContact(accountID: "acme", id: first.id, now: Fixture.now) == false)
            #expect(try await store.contact(accountID: "acme", id: second.id)?.email?.key == "ann@example.com")
        }
    }

    // MARK: Pagination

    @Test("paging with limit 7 while 120 contacts are inserted returns each contact once, in creation order", arguments: StoreKind.allCases)
    func paginationIsStableUnderInserts(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            _ = try await store.putAccount(Fixture.account("globex"))
            // Existing contacts, inserted one by one so that creation order is known. Ids are
            // random, so ordering by id instead of creation would show here.
            var existing: [String] = []
            for i in 0..<40 {
                let contact = try Fixture.contact("acme", name: "Old \(i)", email: "old\(i)@example.com")
                try await store.insertContact(contact)
                existing.append(contact.id)
            }
            try await store.insertContact(try Fixture.contact("globex", name: "Elsewhere", email: "old0@example.com"))

            // The writer inserts 120 contacts in 12 chunks of 10 concurrent creates and announces
            // each finished chunk. The reader waits for one chunk after each page, so inserts
            // land between its page reads (and run during them: the next chunk starts at once).
            let (chunks, chunkDone) = AsyncStream.makeStream(of: Int.self)
            async let inserted: [String] = {
                defer { chunkDone.finish() }
                var ids: [String] = []
                for chunk in 0..<12 {
                    let batch = try (0..<10).map { i in
                        try Fixture.contact("acme", name: "New \(chunk)-\(i)", email: "new\(chunk)-\(i)@example.com")
                    }
                    try await withThrowingTaskGroup(of: Void.self) { inserts in
                        for contact in batch { inserts.addTask { try await store.insertContact(contact) } }
                        try await inserts.waitForAll()
                    }
                    ids += batch.map(\.id)
                    chunkDone.yield(chunk)
                }
                return ids
            }()

            var pages: [Page<Contact>] = []
            var cursor: String?
            var announcements = chunks.makeAsyncIterator()
            repeat {
                let page = try await store.listContacts(accountID: "acme", filter: ContactFilter(), limit: 7, cursor: cursor)
                pages.append(page)
                cursor = page.nextCursor
                _ = await announcements.next()  // nil at once when the writer is done
            } while cursor != nil && pages.count < 1_000
            let newIDs = try await inserted

            let seen = pages.flatMap(\.items).map(\.id)
            // Every page but the last is full; the last one says so.
            #expect(pages.dropLast().allSatisfy { $0.items.count == 7 && $0.nextCursor != nil })
            #expect(pages.last.map { (1...7).contains($0.items.count) && $0.nextCursor == nil } == true)
            #expect(pages.flatMap(\.items).allSatisfy { $0.accountID == "acme" })
            // Each contact at most once; the ones that existed before paging all, in their order.
            #expect(Set(seen).count == seen.count, "a contact appeared twice")
            #expect(Array(seen.prefix(existing.count)) == existing)
            #expect(seen.filter(Set(existing).contains) == existing)
            // The writer finished before the reader reached the end, so the reader saw every
            // new contact too, and the whole walk follows creation (commit) order.
            #expect(Set(seen).isSuperset(of: newIDs))
            let creationOrder = try await store.listContacts(accountID: "acme", filter: ContactFilter(), limit: 500, cursor: nil).items.map(\.id)
            #expect(creationOrder.count == 160)
            #expect(seen == creationOrder)
        }
    }

    @Test(
        "a status filter lists exactly the contacts whose address is in that state, page by page, as verifications start and pass and addresses change",
        arguments: StoreKind.allCases)
    func statusFiltersFollowChanges(kind: StoreKind) async throws {
        try await kind.with { store in
            let h = StoreVerificationTests.Harness(store: store)
            let c = try await h.seed(contacts: 6)
            let other = try await h.seed(Fixture.account("globex"), contacts: 1)[0]
            let account = try #require(try await store.account(id: "acme"))
            let globex = try #require(try await store.account(id: "globex"))
            func start(_ contact: Contact, _ channel: VerificationChannel, in target: Account? = nil) async throws -> Verification {
                try await h.service.start(in: target ?? account, contactID: contact.id, channel: channel, method: .code, locale: nil)
            }
            // c0: email pending. c1: both verified. c2: phone verified, then its number changed.
            // c3: phone pending, then removed. c4: email verified, then deleted. c5: phone pending.
            _ = try await start(c[0], .email)
            for channel in [VerificationChannel.email, .sms] {
                _ = try await store.updateVerification(id: try await start(c[1], channel).id, now: Fixture.now, Fixture.approve)
            }
            _ = try await store.updateVerification(id: try await start(c[2], .sms).id, now: Fixture.now, Fixture.approve)
            let newPhone = try Fixture.contact("acme", phone: "+8613999990000").phone
            _ = try await store.updateContact(accountID: "acme", id: c[2].id, now: Fixture.now) { $0.phone = newPhone }
            _ = try await start(c[3], .sms)
            _ = try await store.updateContact(accountID: "acme", id: c[3].id, now: Fixture.now) { $0.phone = nil }
            _ = try await store.updateVerification(id: try await start(c[4], .email).id, now: Fixture.now, Fixture.approve)
            #expect(try await store.deleteContact(accountID: "acme", id: c[4].id, now: Fixture.now))
            _ = try await start(c[5], .sms)
            // Another account's verified contact never shows.
            _ = try await store.updateVerification(id: try await start(other, .email, in: globex).id, now: Fixture.now, Fixture.approve)

            let all = try await store.listContacts(accountID: "acme", filter: ContactFilter(), limit: 100, cursor: nil).items
            #expect(all.count == 5)
            for channel in [AddressChannel.email, .phone] {
                for status in [AddressStatus.notVerified, .pending, .verified] {
                    var listed: [String] = []
                    var cursor: String?
                    repeat {
                        let page = try await store.listContacts(
                            accountID: "acme", filter: ContactFilter(channel: channel, status: status), limit: 2, cursor: cursor)
                        listed += page.items.map(\.id)
                        cursor = page.nextCursor
                    } while cursor != nil && listed.count <= all.count
                    let expected = all.filter { $0[channel]?.status == status }.map(\.id)
                    #expect(!expected.isEmpty, "\(channel) \(status): the test reaches every state")
                    #expect(listed == expected, "\(channel) \(status)")
                }
            }
            #expect(all.first { $0.id == c[2].id }?.phone?.status == .notVerified, "a changed number starts unverified")
            if kind == .postgres {
                // PostgreSQL's filter rows: one per address of a live contact, none left behind.
                let rows = try await StoreVerificationTests.integers(store, "SELECT count(*) AS n FROM contact_statuses WHERE account_id = 'acme'")
                #expect(rows == [Int64(all.map { ($0.email == nil ? 0 : 1) + ($0.phone == nil ? 0 : 1) }.reduce(0, +))])
            }
        }
    }

    @Test("a cursor the store did not issue is refused, not read as the start", arguments: StoreKind.allCases)
    func foreignCursorIsRefused(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            try await store.insertContact(try Fixture.contact("acme", email: "ann@example.com"))
            for cursor in ["", "not-base64!", Base64URL.encode(Array("x:1".utf8)), Base64URL.encode(Array("s:-1".utf8))] {
                let error = await #expect(throws: ServiceError.self, "\(cursor)") {
                    _ = try await store.listContacts(accountID: "acme", filter: ContactFilter(), limit: 7, cursor: cursor)
                }
                #expect(error?.code == "invalid_cursor")
            }
        }
    }
}
