import ContactVerifyAPI
import ContactVerifyCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Verification batches")
struct BatchesAPITests {
    static func counts(_ reply: Client.Reply) -> [String: Int] {
        guard case .object(let counts)? = reply["counts"] else { return [:] }
        return Dictionary(uniqueKeysWithValues: counts.compactMap { key, value in
            if case .number(let n) = value, let int = Int(n) { (key, int) } else { nil }
        })
    }

    static func items(_ client: Client, _ batch: String) async throws -> [[String: JSONValue]] {
        var all: [[String: JSONValue]] = []
        var cursor: String?
        repeat {
            let reply = try await client.call(.get, "/v1/accounts/acme/verification-batches/\(batch)/items?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""))
            #expect(reply.status == .ok)
            guard case .array(let items)? = reply["items"] else { break }
            all += items.compactMap { if case .object(let o) = $0 { Dictionary(uniqueKeysWithValues: o.map { ($0.key, $0.value) }) } else { nil } }
            cursor = reply.string("nextCursor")
        } while cursor != nil
        return all
    }

    @Test("a batch verifies each contact once, skips with reasons, and its counts add up and follow confirmations")
    func batchLifecycle() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            var ids: [String] = []
            for i in 0..<12 {
                ids.append(try await client.makeContact("acme", #"{"name":"C\#(i)","email":"c\#(i)@example.com"}"#))
            }
            let phoneOnly = try await client.makeContact("acme", #"{"name":"P","phone":"+8613800138000"}"#)
            // One contact is verified already.
            let first = try #require(try await client.startVerification("acme", contact: ids[0]).string("id"))
            try await app.deliver()
            #expect(try await client.check("acme", verification: first, code: try app.outbox.lastCode(to: "c0@example.com")).status == .ok)

            let body = #"{"channel":"email","contactIds":[\#((ids + [ids[3], phoneOnly, "ct_missing"]).map { "\"\($0)\"" }.joined(separator: ","))]}"#
            let created = try await client.call(.post, "/v1/accounts/acme/verification-batches", body: body)
            #expect(created.status == .accepted, "\(created.text)")
            #expect(created.string("status") == "running")
            #expect(created["total"] == .number("14"), "duplicates count once")
            let batch = try #require(created.string("id"))

            try await app.runBatches()
            let afterRun = try await client.call(.get, "/v1/accounts/acme/verification-batches/\(batch)")
            #expect(afterRun.string("status") == "completed")
            #expect(Self.counts(afterRun) == ["queued": 11, "sent": 0, "failed": 0, "skipped": 3, "verified": 0])

            try await app.deliver()
            let emails = try app.outbox.emails()
            #expect(emails.count == 12, "one earlier code email and eleven batch links")
            for i in 1..<12 {
                #expect(emails.filter { $0.to == "c\(i)@example.com" }.count == 1, "c\(i) got exactly one message")
            }
            #expect(Self.counts(try await client.call(.get, "/v1/accounts/acme/verification-batches/\(batch)"))
                == ["queued": 0, "sent": 11, "failed": 0, "skipped": 3, "verified": 0])

            // Two recipients confirm their links.
            for i in [1, 2] {
                let token = try app.outbox.lastToken(to: "c\(i)@example.com")
                #expect(try await client.call(.post, "/v1/links/\(token)/confirm", key: "").string("status") == "verified")
            }
            let later = try await client.call(.get, "/v1/accounts/acme/verification-batches/\(batch)")
            let counts = Self.counts(later)
            #expect(counts == ["queued": 0, "sent": 9, "failed": 0, "skipped": 3, "verified": 2])
            #expect(counts.values.reduce(0, +) == 14)

            let items = try await Self.items(client, batch)
            #expect(items.count == 14)
            #expect(items.map { $0["contactId"] } == (ids + [phoneOnly, "ct_missing"]).map { .string($0) })
            let outcomes = Dictionary(uniqueKeysWithValues: items.compactMap { item -> (String, String)? in
                if case .string(let id)? = item["contactId"], case .string(let outcome)? = item["outcome"] { (id, outcome) } else { nil }
            })
            #expect(outcomes[ids[0]] == "skipped_verified")
            #expect(outcomes[phoneOnly] == "skipped_no_address")
            #expect(outcomes["ct_missing"] == "skipped_not_found")
            #expect(outcomes[ids[1]] == "verified")
            #expect(outcomes[ids[5]] == "sent")
        }
    }

    @Test("a filter selects contacts by the status of the batch's channel, and a link verifies only its own contact")
    func filterAndIsolation() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let a = try await client.makeContact("acme", #"{"name":"A","phone":"+8613800138000"}"#)
            let b = try await client.makeContact("acme", #"{"name":"B","phone":"+8613900139000"}"#)
            _ = try await client.makeContact("acme", #"{"name":"E","email":"e@example.com"}"#)
            let created = try await client.call(
                .post, "/v1/accounts/acme/verification-batches", body: #"{"channel":"sms","filter":{"status":"not_verified"}}"#)
            #expect(created.status == .accepted, "\(created.text)")
            #expect(created["total"] == .number("2"))
            try await app.runBatches()
            try await app.deliver()
            let token = try app.outbox.lastToken(to: "+8613800138000")
            #expect(try await client.call(.post, "/v1/links/\(token)/confirm", key: "").string("status") == "verified")
            let contactA = try await client.call(.get, "/v1/accounts/acme/contacts/\(a)")
            let contactB = try await client.call(.get, "/v1/accounts/acme/contacts/\(b)")
            guard case .object(let phoneA)? = contactA["phone"], case .object(let phoneB)? = contactB["phone"] else {
                Issue.record("no phones"); return
            }
            #expect(phoneA["status"] == .string("verified"))
            #expect(phoneB["status"] == .string("pending"))
            let verified = try await client.call(.get, "/v1/accounts/acme/contacts?channel=sms&status=verified")
            guard case .array(let list)? = verified["items"] else { Issue.record("no list"); return }
            #expect(list.count == 1)
        }
    }

    @Test("malformed batch requests are 4xx naming the field", arguments: [
        (#"{"channel":"email"}"#, "contactIds"),
        (#"{"channel":"email","contactIds":["a"],"filter":{"status":"verified"}}"#, "contactIds"),
        (#"{"channel":"fax","contactIds":["a"]}"#, "channel"),
        (#"{"channel":"email","contactIds":"a"}"#, "contactIds"),
        (#"{"channel":"email","filter":{"status":"maybe"}}"#, "filter.status"),
        (#"{"channel":"email","filter":{"status":"verified","x":1}}"#, "filter.x"),
        (#"{"channel":"email","contactIds":[""]}"#, "contactIds.0"),
    ])
    func malformed(body: String, field: String) async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let reply = try await client.call(.post, "/v1/accounts/acme/verification-batches", body: body)
            #expect(reply.status == .badRequest, "\(reply.text)")
            #expect(reply.errorFields.contains(field), "\(reply.errorFields)")
        }
    }

    @Test("more than 10,000 contact ids are refused")
    func tooLarge() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let ids = (0...10_000).map { "\"ct_\($0)\"" }.joined(separator: ",")
            let reply = try await client.call(.post, "/v1/accounts/acme/verification-batches", body: #"{"channel":"email","contactIds":[\#(ids)]}"#)
            #expect(reply.status == .badRequest)
            #expect(reply.errorFields == ["contactIds"])
        }
    }

    @Test("a batch left half done by one process is finished by the next, one message per contact")
    func restartMidBatch() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        let batch = try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            var ids: [String] = []
            for i in 0..<30 { ids.append(try await client.makeContact("acme", #"{"name":"C\#(i)","email":"c\#(i)@example.com"}"#)) }
            let body = #"{"channel":"email","contactIds":[\#(ids.map { "\"\($0)\"" }.joined(separator: ","))]}"#
            let batch = try #require(try await client.call(.post, "/v1/accounts/acme/verification-batches", body: body).string("id"))
            // A first process works on 10 items and dies.
            #expect(try await app.built.batches.runOnce(limit: 10) == 10)
            return batch
        }
        // A second process on the same data folder finishes the batch.
        var configuration = ServiceConfiguration()
        configuration.dataDirectory = app.dataDirectory
        configuration.resourcesDirectory = TestApp.packageRoot
        configuration.runWorker = false
        let second = try await buildApplication(configuration, clock: app.clock)
        while try await second.batches.runOnce(limit: 7) > 0 {}
        try await second.worker.drain()
        let emails = try app.outbox.emails()
        #expect(emails.count == 30)
        #expect(Set(emails.map(\.to)).count == 30, "every contact got exactly one message")
        try await second.application.test(.router) { raw in
            let client = Client(client: raw, adminKey: app.adminKey)
            let reply = try await client.call(.get, "/v1/accounts/acme/verification-batches/\(batch)")
            #expect(reply.string("status") == "completed")
            #expect(Self.counts(reply) == ["queued": 0, "sent": 30, "failed": 0, "skipped": 0, "verified": 0])
        }
    }

    @Test("the account's daily SMS limit applies to batches: the rest are marked with the reason")
    func dailySMSLimit() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let put = try await client.call(.put, "/v1/accounts/acme", body: #"{"displayName":"acme","defaultRegion":"CN","dailySmsLimit":2}"#)
            #expect(put.status == .created)
            for i in 0..<4 {
                _ = try await client.makeContact("acme", #"{"name":"P\#(i)","phone":"+861380013800\#(i)"}"#)
            }
            let created = try await client.call(
                .post, "/v1/accounts/acme/verification-batches", body: #"{"channel":"sms","filter":{"status":"not_verified"}}"#)
            let batch = try #require(created.string("id"))
            try await app.runBatches()
            try await app.deliver()
            #expect(try app.outbox.sms().count == 2)
            let reply = try await client.call(.get, "/v1/accounts/acme/verification-batches/\(batch)")
            #expect(Self.counts(reply) == ["queued": 0, "sent": 2, "failed": 2, "skipped": 0, "verified": 0])
            let failed = try await Self.items(client, batch).filter { $0["outcome"] == .string("failed") }
            #expect(failed.count == 2)
            #expect(failed.allSatisfy {
                if case .object(let error)? = $0["error"] { error["code"] == .string("daily_sms_limit_reached") } else { false }
            })
        }
    }
}
