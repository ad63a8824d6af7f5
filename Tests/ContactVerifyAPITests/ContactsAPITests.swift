import ContactVerifyCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Contacts API")
struct ContactsAPITests {
    @Test("twenty concurrent creates of one email written differently give one 201 and nineteen 409s naming the holder")
    func uniquenessRace() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let spellings = (0..<20).map { i in
                ["ann@example.com", "ANN@EXAMPLE.COM", " Ann@Example.com ", "ann@EXAMPLE.com\\t"][i % 4]  // a JSON \t escape: trimmed like a space
            }
            let replies = try await withThrowingTaskGroup(of: Client.Reply.self) { group in
                for (i, email) in spellings.enumerated() {
                    group.addTask {
                        try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: #"{"name":"n\#(i)","email":"\#(email)"}"#)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let created = replies.filter { $0.status == .created }
            let conflicts = replies.filter { $0.status == .conflict }
            #expect(created.count == 1)
            #expect(conflicts.count == 19)
            let holder = try #require(created.first?.string("id"))
            #expect(conflicts.allSatisfy { $0.code == "email_taken" && $0.string("conflictingContactId") == holder })
        }
    }

    @Test("the same email in two accounts is two contacts, and neither account learns of the other")
    func uniquenessIsPerAccount() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let a = try await client.makeAccount("a")
            let b = try await client.makeAccount("b")
            let first = try await client.makeContact("a", key: a, #"{"name":"Ann","email":"ann@example.com"}"#)
            let second = try await client.makeContact("b", key: b, #"{"name":"Ann","email":"ANN@example.com"}"#)
            #expect(first != second)
            let lookup = try await client.call(.get, "/v1/accounts/b/addresses/lookup?email=ann@example.com", key: b)
            #expect(lookup.string("contactId") == second)
        }
    }

    @Test("a key of account A gets the same 404 for account B's contact as for a missing one")
    func tenantIsolation() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let a = try await client.makeAccount("a")
            let b = try await client.makeAccount("b")
            let bContact = try await client.makeContact("b", key: b, #"{"name":"Bo","email":"bo@example.com"}"#)
            let foreign = try await client.call(.get, "/v1/accounts/b/contacts/\(bContact)", key: a)
            let missing = try await client.call(.get, "/v1/accounts/a/contacts/ct_doesnotexist", key: a)
            let otherAccount = try await client.call(.get, "/v1/accounts/b", key: a)
            let noAccount = try await client.call(.get, "/v1/accounts/zzz", key: a)
            #expect(foreign.status == .notFound && missing.status == .notFound)
            #expect(foreign.body == missing.body.replacing(Array("contact".utf8), with: Array("account".utf8)) || foreign.code == missing.code)
            #expect(otherAccount.status == .notFound && otherAccount.body == noAccount.body)
            let patch = try await client.call(.patch, "/v1/accounts/b/contacts/\(bContact)", key: a, body: #"{"name":"x"}"#)
            #expect(patch.status == .notFound)
            let delete = try await client.call(.delete, "/v1/accounts/b/contacts/\(bContact)", key: a)
            #expect(delete.status == .notFound)
            #expect(try await client.call(.get, "/v1/accounts/b/contacts/\(bContact)", key: b).status == .ok)
        }
    }

    @Test("missing, malformed, revoked and non-admin keys are refused")
    func authentication() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            #expect(try await client.call(.get, "/v1/accounts/acme", key: "").status == .unauthorized)
            #expect(try await client.call(.get, "/v1/accounts/acme", headers: [.authorization: "Basic abc"]).status == .unauthorized)
            #expect(try await client.call(.get, "/v1/accounts/acme", key: "cvk_wrong").status == .unauthorized)
            #expect(try await client.call(.get, "/v1/accounts/acme?key=\(key)", key: "").status == .unauthorized)
            let forbidden = try await client.call(.put, "/v1/accounts/other", key: key, body: #"{"displayName":"x"}"#)
            #expect(forbidden.status == .forbidden)
            let created = try await client.call(.post, "/v1/accounts/acme/keys", body: "{}")
            let id = try #require(created.string("id"))
            let secret = try #require(created.string("key"))
            #expect(try await client.call(.get, "/v1/accounts/acme", key: secret).status == .ok)
            #expect(try await client.call(.delete, "/v1/accounts/acme/keys/\(id)").status == .noContent)
            #expect(try await client.call(.get, "/v1/accounts/acme", key: secret).status == .unauthorized)
        }
    }

    @Test("a patched address starts over as not verified; null removes it; one address must remain")
    func patchRules() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme", region: "GB")
            let id = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com","phone":"020 7946 0000"}"#)
            let path = "/v1/accounts/acme/contacts/\(id)"
            let changed = try await client.call(.patch, path, key: key, body: #"{"email":"ann2@example.com","locale":"zh-CN"}"#)
            #expect(changed.status == .ok)
            guard case .object(let email)? = changed["email"] else { Issue.record("no email"); return }
            #expect(email["address"] == .string("ann2@example.com"))
            #expect(email["status"] == .string("not_verified"))
            #expect(changed["locale"] == .string("zh-CN"))
            let removed = try await client.call(.patch, path, key: key, body: #"{"phone":null}"#)
            #expect(removed["phone"] == .null)
            let none = try await client.call(.patch, path, key: key, body: #"{"email":null}"#)
            #expect(none.status == .badRequest && none.code == "address_required")
            let taken = try await client.makeContact("acme", key: key, #"{"name":"Bob","phone":"+44 20 7946 0000"}"#)
            let conflict = try await client.call(.patch, path, key: key, body: #"{"phone":"02079460000"}"#)
            #expect(conflict.status == .conflict && conflict.code == "phone_taken" && conflict.string("conflictingContactId") == taken)
        }
    }

    @Test("deleting a contact frees its addresses at once")
    func deleteFreesAddresses() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let id = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            #expect(try await client.call(.delete, "/v1/accounts/acme/contacts/\(id)", key: key).status == .noContent)
            #expect(try await client.call(.get, "/v1/accounts/acme/contacts/\(id)", key: key).status == .notFound)
            _ = try await client.makeContact("acme", key: key, #"{"name":"Ann again","email":"ANN@example.com"}"#)
        }
    }

    @Test("national numbers need the account's default region; SMS types are reported")
    func phoneRegion() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("noregion")
            let reply = try await client.call(.post, "/v1/accounts/noregion/contacts", key: key, body: #"{"name":"A","phone":"13800138000"}"#)
            #expect(reply.status == .badRequest && reply.errorFields == ["phone"])
            #expect(reply.text.contains("region_required"))
            let cn = try await client.makeAccount("cn", region: "CN")
            for (i, form) in ["+86 138 0013 8000", "008613800138000", "13800138000"].enumerated() {
                let lookup = try await client.call(.get, "/v1/accounts/cn/addresses/lookup?phone=\(form.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", key: cn)
                #expect(lookup.string("normalized") == "+8613800138000", "form \(i)")
                #expect(lookup.string("type") == "mobile")
            }
        }
    }

    @Test("cursor pages have no duplicates or gaps while contacts are inserted between pages")
    func paginationIsStable() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            var expected: [String] = []
            for i in 0..<25 { expected.append(try await client.makeContact("acme", key: key, #"{"name":"c\#(i)","email":"c\#(i)@example.com"}"#)) }
            var seen: [String] = []
            var cursor: String?
            var inserted = 0
            repeat {
                let query = cursor.map { "&cursor=\($0)" } ?? ""
                let page = try await client.call(.get, "/v1/accounts/acme/contacts?limit=7\(query)", key: key)
                #expect(page.status == .ok)
                guard case .array(let items)? = page["items"] else { Issue.record("no items"); return }
                seen += items.compactMap { if case .object(let o) = $0, case .string(let id)? = o["id"] { id } else { nil } }
                if case .string(let next)? = page["nextCursor"] { cursor = next } else { cursor = nil }
                if inserted < 3 {
                    expected.append(try await client.makeContact("acme", key: key, #"{"name":"late\#(inserted)","email":"late\#(inserted)@example.com"}"#))
                    inserted += 1
                }
            } while cursor != nil
            #expect(seen == expected)
            #expect(Set(seen).count == seen.count)
        }
    }

    @Test("list filters by channel and status, and status needs a channel")
    func listFilters() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme", region: "US")
            _ = try await client.makeContact("acme", key: key, #"{"name":"e","email":"e@example.com"}"#)
            let p = try await client.makeContact("acme", key: key, #"{"name":"p","phone":"+1 650 253 0000"}"#)
            let phones = try await client.call(.get, "/v1/accounts/acme/contacts?channel=sms&status=not_verified", key: key)
            guard case .array(let items)? = phones["items"] else { Issue.record("no items"); return }
            #expect(items.count == 1)
            if case .object(let o)? = items.first { #expect(o["id"] == .string(p)) }
            let verified = try await client.call(.get, "/v1/accounts/acme/contacts?channel=phone&status=verified", key: key)
            #expect(verified["items"] == .array([]))
            let bad = try await client.call(.get, "/v1/accounts/acme/contacts?status=verified", key: key)
            #expect(bad.status == .badRequest && bad.errorFields == ["status"])
            let badCursor = try await client.call(.get, "/v1/accounts/acme/contacts?cursor=zzz", key: key)
            #expect(badCursor.status == .badRequest && badCursor.code == "invalid_cursor")
            let unknown = try await client.call(.get, "/v1/accounts/acme/contacts?foo=1", key: key)
            #expect(unknown.status == .badRequest && unknown.errorFields == ["foo"])
        }
    }
}
