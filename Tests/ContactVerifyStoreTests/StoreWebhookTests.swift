import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyStore

/// Contacts' chatbot webhooks and the robots' shared send log, the same tests for SQLite and
/// PostgreSQL.
@Suite("Stores: webhooks")
struct StoreWebhookTests {
    static func webhook(_ name: String, key: UInt8, status: AddressStatus = .notVerified, secret: [UInt8]? = nil) -> ContactWebhook {
        ContactWebhook(
            id: ContactWebhook.makeID(), kind: .dingtalk, name: name, maskedURL: "https://oapi.dingtalk.com/…",
            urlKey: Array(repeating: key, count: 32), sealedURL: [key, 1, 2, 3], sealedSecret: secret, status: status,
            verifiedAt: status == .verified ? Fixture.now : nil, createdAt: Fixture.now, updatedAt: Fixture.now)
    }

    @Test("webhooks are saved with the contact, read back in order, replaced as a list and removed with the contact", arguments: StoreKind.allCases)
    func crud(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            var contact = try Fixture.contact("acme", email: "ann@example.com")
            contact.webhooks = [Self.webhook("Ops", key: 1, secret: [9, 9]), Self.webhook("Dev", key: 2)]
            try await store.insertContact(contact)
            #expect(try await store.contact(accountID: "acme", id: contact.id)?.webhooks == contact.webhooks)

            let tested = Fixture.now.addingTimeInterval(5)
            let saved = try await store.updateContact(accountID: "acme", id: contact.id, now: tested) { contact in
                contact.webhooks.swapAt(0, 1)
                contact.webhooks[0].status = .verified
                contact.webhooks[0].verifiedAt = tested
                contact.webhooks[0].testedAt = tested
                contact.webhooks[0].lastProviderCode = "0"
                contact.webhooks[0].lastMessage = "ok"
                contact.webhooks.append(Self.webhook("QA", key: 3))
            }
            let read = try #require(try await store.contact(accountID: "acme", id: contact.id))
            #expect(read.webhooks == saved.webhooks)
            #expect(read.webhooks.map(\.name) == ["Dev", "Ops", "QA"])
            #expect(read.webhooks[0].status == .verified && read.webhooks[0].verifiedAt == tested && read.webhooks[0].lastProviderCode == "0")
            #expect(read.webhooks[1].sealedSecret == [9, 9])

            _ = try await store.updateContact(accountID: "acme", id: contact.id, now: tested) { $0.webhooks.removeAll() }
            #expect(try await store.contact(accountID: "acme", id: contact.id)?.webhooks == [])

            _ = try await store.updateContact(accountID: "acme", id: contact.id, now: tested) { $0.webhooks = [Self.webhook("Ops", key: 1)] }
            #expect(try await store.deleteContact(accountID: "acme", id: contact.id, now: tested))
            // A new contact may reuse the freed URL at once.
            var next = try Fixture.contact("acme", email: "bob@example.com")
            next.webhooks = [Self.webhook("Ops", key: 1)]
            try await store.insertContact(next)
            #expect(try await store.contact(accountID: "acme", id: next.id)?.webhooks.count == 1)
        }
    }

    @Test("the schema keeps URLs and names unique per contact and at most five webhooks, whatever the caller sends", arguments: StoreKind.allCases)
    func constraints(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            var ann = try Fixture.contact("acme", email: "ann@example.com")
            ann.webhooks = [Self.webhook("Ops", key: 1)]
            try await store.insertContact(ann)
            // The same URL on another contact is fine.
            var bob = try Fixture.contact("acme", email: "bob@example.com")
            bob.webhooks = [Self.webhook("Ops", key: 1)]
            try await store.insertContact(bob)

            await #expect(throws: (any Error).self) {
                _ = try await store.updateContact(accountID: "acme", id: ann.id, now: Fixture.now) { $0.webhooks.append(Self.webhook("Other", key: 1)) }
            }
            await #expect(throws: (any Error).self) {
                _ = try await store.updateContact(accountID: "acme", id: ann.id, now: Fixture.now) { $0.webhooks.append(Self.webhook("Ops", key: 2)) }
            }
            await #expect(throws: (any Error).self) {
                _ = try await store.updateContact(accountID: "acme", id: ann.id, now: Fixture.now) { contact in
                    contact.webhooks = (1...6).map { Self.webhook("W\($0)", key: UInt8($0)) }
                }
            }
            // A failed write changed nothing; five is fine.
            #expect(try await store.contact(accountID: "acme", id: ann.id)?.webhooks == ann.webhooks)
            let five = try await store.updateContact(accountID: "acme", id: ann.id, now: Fixture.now) { contact in
                contact.webhooks = (1...5).map { Self.webhook("W\($0)", key: UInt8($0)) }
            }
            #expect(try await store.contact(accountID: "acme", id: ann.id)?.webhooks == five.webhooks)
        }
    }

    @Test("listing by webhook status finds contacts with a webhook of that status", arguments: StoreKind.allCases)
    func listByStatus(kind: StoreKind) async throws {
        try await kind.with { store in
            _ = try await store.putAccount(Fixture.account("acme"))
            var verified = try Fixture.contact("acme", name: "V", email: "v@example.com")
            verified.webhooks = [Self.webhook("A", key: 1), Self.webhook("B", key: 2, status: .verified)]
            var unverified = try Fixture.contact("acme", name: "U", email: "u@example.com")
            unverified.webhooks = [Self.webhook("A", key: 1)]
            let none = try Fixture.contact("acme", name: "N", email: "n@example.com")
            for contact in [verified, unverified, none] { try await store.insertContact(contact) }

            let page = try await store.listContacts(accountID: "acme", filter: ContactFilter(status: .verified, webhooks: true), limit: 10, cursor: nil)
            #expect(page.items.map(\.id) == [verified.id])
            #expect(page.items.first?.webhooks == verified.webhooks)
            let any = try await store.listContacts(accountID: "acme", filter: ContactFilter(webhooks: true), limit: 1, cursor: nil)
            #expect(any.items.map(\.id) == [verified.id])
            let rest = try await store.listContacts(accountID: "acme", filter: ContactFilter(webhooks: true), limit: 1, cursor: any.nextCursor)
            #expect(rest.items.map(\.id) == [unverified.id])
            #expect(rest.items.first?.webhooks.count == 1)
        }
    }

    @Test("a robot's send log admits the limit per window, then says when the oldest send leaves it", arguments: StoreKind.allCases)
    func sendLog(kind: StoreKind) async throws {
        try await kind.with { store in
            let robot: [UInt8] = Array(repeating: 7, count: 32), other: [UInt8] = Array(repeating: 8, count: 32)
            let start = Fixture.now
            for i in 0..<20 {
                #expect(try await store.reserveWebhookSend(robotKey: robot, limit: 20, window: 60, now: start.addingTimeInterval(Double(i))) == nil)
            }
            let refused = try await store.reserveWebhookSend(robotKey: robot, limit: 20, window: 60, now: start.addingTimeInterval(30))
            #expect(refused == start.addingTimeInterval(60))
            #expect(try await store.reserveWebhookSend(robotKey: other, limit: 20, window: 60, now: start.addingTimeInterval(30)) == nil)
            // Once the first send is a minute old, one more fits.
            #expect(try await store.reserveWebhookSend(robotKey: robot, limit: 20, window: 60, now: start.addingTimeInterval(60)) == nil)
            #expect(try await store.reserveWebhookSend(robotKey: robot, limit: 20, window: 60, now: start.addingTimeInterval(60.5)) == start.addingTimeInterval(61))
        }
    }

    @Test("concurrent reservations for one robot never exceed its limit", arguments: StoreKind.allCases)
    func concurrentReservations(kind: StoreKind) async throws {
        try await kind.with { store in
            let robot: [UInt8] = Array(repeating: 5, count: 32)
            let admitted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask { (try? await store.reserveWebhookSend(robotKey: robot, limit: 20, window: 60, now: Fixture.now)) == .some(nil) }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 20)
        }
    }
}
