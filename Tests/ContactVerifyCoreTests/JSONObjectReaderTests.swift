import ContactVerifyCore
import Testing

@Suite("JSONObjectReader")
struct JSONObjectReaderTests {
    // MARK: Helpers

    private func reader(_ json: String) throws -> JSONObjectReader {
        try JSONObjectReader.parseObject(Array(json.utf8))
    }

    /// The errors `finish()` throws, or `[]` when it succeeds.
    private func finishErrors(_ reader: inout JSONObjectReader) -> [FieldError] {
        do {
            try reader.finish()
            return []
        } catch {
            return error.errors
        }
    }

    private func codes(_ errors: [FieldError]) -> [String] {
        errors.map { "\($0.field):\($0.code)" }
    }

    private enum Channel: String, CaseIterable {
        case email, sms
    }

    // MARK: Happy path

    @Test("a valid body reads every field and finishes without errors")
    func happyPath() throws {
        var body = try reader(#"""
        {"name": "Ann", "email": "ann@example.com", "limit": 10, "allowX": false,
         "contactIds": ["ct_1", "ct_2"], "filter": {"status": "verified"},
         "webhooks": [{"url": "https://a.test"}, {"url": "https://b.test"}], "channel": "sms"}
        """#)
        #expect(body.string("name", required: true, maxLength: 200) == "Ann")
        #expect(body.nullableString("email", maxLength: 320) == .value("ann@example.com"))
        #expect(body.int("limit", range: 1...100) == 10)
        #expect(body.bool("allowX") == false)
        #expect(body.stringArray("contactIds", maxCount: 10_000, maxLength: 64) == ["ct_1", "ct_2"])
        let filterReader = body.object("filter")
        var filter = try #require(filterReader)
        #expect(filter.path == "filter")
        #expect(filter.enumString("status", allowed: ["verified", "not_verified"]) == "verified")
        let webhookReaders = body.objectArray("webhooks", maxCount: 5)
        let webhooks = try #require(webhookReaders)
        #expect(webhooks.map(\.path) == ["webhooks.0", "webhooks.1"])
        var urls: [String?] = []
        for var webhook in webhooks {
            urls.append(webhook.string("url", required: true))
        }
        #expect(urls == ["https://a.test", "https://b.test"])
        #expect(body.enumValue("channel", as: Channel.self, required: true) == .sms)
        #expect(!body.hasErrors)
        #expect(finishErrors(&body).isEmpty)
    }

    @Test("absent optional fields are nil without errors")
    func absentOptionals() throws {
        var body = try reader("{}")
        #expect(body.string("name") == nil)
        #expect(body.int("limit") == nil)
        #expect(body.bool("allowX") == nil)
        #expect(body.stringArray("ids", maxCount: 3) == nil)
        #expect(body.object("filter") == nil)
        #expect(body.objectArray("webhooks", maxCount: 5) == nil)
        #expect(body.enumString("channel", allowed: ["email"]) == nil)
        #expect(body.nullableString("email") == .absent)
        #expect(finishErrors(&body).isEmpty)
    }

    // MARK: Required, types, unknown fields

    @Test("a missing required field records required")
    func required() throws {
        var body = try reader("{}")
        #expect(body.string("name", required: true) == nil)
        let errors = finishErrors(&body)
        #expect(errors == [FieldError(field: "name", code: "required", message: "'name' is required.")])
    }

    @Test("a wrong type records wrong_type naming the expected and the actual type")
    func wrongType() throws {
        var body = try reader(#"{"name": 5, "allowX": "yes", "filter": [], "ids": "a", "nothing": null}"#)
        #expect(body.string("name") == nil)
        #expect(body.bool("allowX") == nil)
        #expect(body.object("filter") == nil)
        #expect(body.stringArray("ids", maxCount: 3) == nil)
        #expect(body.string("nothing", required: true) == nil)
        let errors = finishErrors(&body)
        #expect(codes(errors) == [
            "name:wrong_type", "allowX:wrong_type", "filter:wrong_type", "ids:wrong_type", "nothing:wrong_type",
        ])
        #expect(errors[0].message == "'name' must be a string, not a number.")
        #expect(errors[1].message == "'allowX' must be a boolean, not a string.")
        #expect(errors[2].message == "'filter' must be an object, not an array.")
        #expect(errors[3].message == "'ids' must be an array of strings, not a string.")
        #expect(errors[4].message == "'nothing' must be a string, not null.")
    }

    @Test("every member nobody read is an unknown_field at finish, in document order")
    func unknownFields() throws {
        var body = try reader(#"{"zeta": 1, "name": "Ann", "alpha": {"x": 1}}"#)
        _ = body.string("name")
        let errors = finishErrors(&body)
        #expect(codes(errors) == ["zeta:unknown_field", "alpha:unknown_field"])
        #expect(errors[0].message == "'zeta' is not a known field.")
    }

    @Test("contains does not count as reading")
    func containsDoesNotRead() throws {
        var body = try reader(#"{"a": 1}"#)
        #expect(body.contains("a"))
        #expect(!body.contains("b"))
        #expect(codes(finishErrors(&body)) == ["a:unknown_field"])
    }

    @Test("value returns the raw member and marks it read")
    func rawValue() throws {
        var body = try reader(#"{"meta": {"k": [1]}}"#)
        #expect(body.value("meta") == ["k": [1]])
        #expect(body.value("other", required: true) == nil)
        #expect(codes(finishErrors(&body)) == ["other:required"])
    }

    @Test("a body that is not an object records one wrong_type for the field body and nothing else")
    func rootNotObject() throws {
        var body = try reader("[1, 2]")
        #expect(body.object == nil)
        #expect(body.string("name", required: true) == nil)
        #expect(body.int("limit", required: true) == nil)
        let errors = finishErrors(&body)
        #expect(errors == [FieldError(
            field: "body", code: "wrong_type", message: "The request body must be a JSON object, not an array.")])
    }

    // MARK: Strings

    @Test("too_long counts Unicode scalars, not bytes or grapheme clusters")
    func tooLong() throws {
        // "é" precomposed is 1 scalar (2 bytes); decomposed it is 2 scalars; 👍🏽 is 2 scalars, 1 grapheme.
        var body = try reader("{\"a\": \"ééé\", \"b\": \"e\u{301}e\u{301}\", \"c\": \"👍🏽👍🏽\", \"d\": \"abcd\"}")
        #expect(body.string("a", maxLength: 3) == "ééé")
        #expect(body.string("b", maxLength: 3) == nil)
        #expect(body.string("c", maxLength: 3) == nil)
        #expect(body.string("d", maxLength: 3) == nil)
        let errors = finishErrors(&body)
        #expect(codes(errors) == ["b:too_long", "c:too_long", "d:too_long"])
        #expect(errors[2].message == "'d' must be at most 3 characters long.")
    }

    @Test("nonEmpty rejects an empty string with code empty")
    func nonEmpty() throws {
        var body = try reader(#"{"name": "", "note": ""}"#)
        #expect(body.string("name", nonEmpty: true) == nil)
        #expect(body.string("note") == "")
        let errors = finishErrors(&body)
        #expect(errors == [FieldError(field: "name", code: "empty", message: "'name' must not be empty.")])
    }

    @Test("nullableString tells absent, null and a value apart")
    func absentVersusNull() throws {
        var body = try reader(#"{"email": null, "phone": "+8613800138000", "bad": 3}"#)
        #expect(body.nullableString("email") == .null)
        #expect(body.nullableString("phone") == .value("+8613800138000"))
        #expect(body.nullableString("externalId") == .absent)
        #expect(body.nullableString("externalId").isAbsent)
        #expect(body.nullableString("bad") == .absent)
        #expect(body.nullableString("required", required: true) == .absent)
        #expect(codes(finishErrors(&body)) == ["bad:wrong_type", "required:required"])
    }

    @Test("the other nullable accessors tell absent, null and a value apart")
    func otherNullables() throws {
        var body = try reader(#"{"n": null, "m": 7, "b": null, "c": true, "x": "1"}"#)
        #expect(body.nullableInt("n") == .null)
        #expect(body.nullableInt("m", range: 1...10) == .value(7))
        #expect(body.nullableInt("missing") == .absent)
        #expect(body.nullableBool("b") == .null)
        #expect(body.nullableBool("c") == .value(true))
        #expect(body.nullableBool("x") == .absent)
        #expect(codes(finishErrors(&body)) == ["x:wrong_type"])
        #expect(JSONField.value(2).map { $0 * 2 } == .value(4))
        #expect(JSONField<Int>.null.map { $0 * 2 } == .null)
    }

    @Test("enumString records invalid_value listing the allowed values")
    func enumString() throws {
        var body = try reader(#"{"channel": "fax", "method": 1}"#)
        #expect(body.enumString("channel", allowed: ["email", "sms"], required: true) == nil)
        #expect(body.enumValue("method", as: Channel.self) == nil)
        let errors = finishErrors(&body)
        #expect(errors == [
            FieldError(field: "channel", code: "invalid_value", message: "'channel' must be one of: email, sms."),
            FieldError(field: "method", code: "wrong_type", message: "'method' must be a string, not a number."),
        ])
    }

    // MARK: Integers

    @Test("int accepts integer literals only and checks the range")
    func intLiterals() throws {
        var body = try reader(#"""
        {"a": 1, "b": -0, "c": 100, "d": 1.0, "e": 1e2, "f": 0, "g": 101, "h": "5",
         "i": 99999999999999999999, "j": -9223372036854775808, "k": -1E0}
        """#)
        #expect(body.int("a", range: 1...100) == 1)
        #expect(body.int("b") == 0)
        #expect(body.int("c", range: 1...100) == 100)
        #expect(body.int("d", range: 1...100) == nil)
        #expect(body.int("e", range: 1...100) == nil)
        #expect(body.int("f", range: 1...100) == nil)
        #expect(body.int("g", range: 1...100) == nil)
        #expect(body.int("h") == nil)
        #expect(body.int("i") == nil)
        #expect(body.int("j") == Int.min)
        #expect(body.int("k") == nil)
        let errors = finishErrors(&body)
        #expect(codes(errors) == [
            "d:wrong_type", "e:wrong_type", "f:out_of_range", "g:out_of_range", "h:wrong_type", "i:out_of_range",
            "k:wrong_type",
        ])
        #expect(errors[0].message == "'d' must be an integer, not a number with a fraction or exponent.")
        #expect(errors[2].message == "'f' must be between 1 and 100.")
        #expect(errors[4].message == "'h' must be an integer, not a string.")
    }

    // MARK: Arrays

    @Test("stringArray checks the count and every element with indexed paths")
    func stringArray() throws {
        var body = try reader(#"{"ids": ["a", 2, "toolong", ""], "many": ["a", "b", "c", "d"], "ok": []}"#)
        #expect(body.stringArray("ids", maxCount: 10, maxLength: 3, nonEmpty: true) == nil)
        #expect(body.stringArray("many", maxCount: 3) == nil)
        #expect(body.stringArray("ok", maxCount: 3) == [])
        let errors = finishErrors(&body)
        #expect(codes(errors) == ["ids.1:wrong_type", "ids.2:too_long", "ids.3:empty", "many:too_many"])
        #expect(errors[3].message == "'many' must have at most 3 items.")
    }

    @Test("objectArray gives one reader per element; non-objects keep their index")
    func objectArray() throws {
        var body = try reader(#"""
        {"webhooks": [{"url": "https://a.test"}, "nope", {"url": 5, "extra": true}],
         "tooMany": [{}, {}, {}]}
        """#)
        let webhookReaders = body.objectArray("webhooks", maxCount: 5)
        let webhooks = try #require(webhookReaders)
        #expect(webhooks.count == 3)
        var urls: [String?] = []
        for var webhook in webhooks {
            urls.append(webhook.string("url", required: true))
        }
        #expect(urls == ["https://a.test", nil, nil])
        #expect(body.objectArray("tooMany", maxCount: 2) == nil)
        let errors = finishErrors(&body)
        #expect(codes(errors) == [
            "webhooks.1:wrong_type", "webhooks.2.url:wrong_type", "webhooks.2.extra:unknown_field", "tooMany:too_many",
        ])
        #expect(errors[0].message == "'webhooks.1' must be an object, not a string.")
    }

    // MARK: Nesting and collection

    @Test("nested readers use dotted paths and their errors reach the parent's finish")
    func nestedPaths() throws {
        var body = try reader(#"{"filter": {"status": 1, "since": {"days": "x"}, "junk": 0}}"#)
        do {
            let filterReader = body.object("filter", required: true)
            var filter = try #require(filterReader)
            _ = filter.string("status")
            let sinceReader = filter.object("since")
            var since = try #require(sinceReader)
            #expect(since.path == "filter.since")
            _ = since.int("days")
            // Nobody calls finish() on filter or since.
        }
        let errors = finishErrors(&body)
        #expect(codes(errors) == ["filter.status:wrong_type", "filter.since.days:wrong_type", "filter.junk:unknown_field"])
        #expect(errors[0].message == "'filter.status' must be a string, not a number.")
    }

    @Test("a nested reader's own finish reports its subtree, and the parent still reports it")
    func nestedFinish() throws {
        var body = try reader(#"{"filter": {"status": 1, "junk": 0}}"#)
        let filterReader = body.object("filter")
        var filter = try #require(filterReader)
        _ = filter.string("status")
        #expect(codes(finishErrors(&filter)) == ["filter.status:wrong_type", "filter.junk:unknown_field"])
        #expect(codes(finishErrors(&body)) == ["filter.status:wrong_type", "filter.junk:unknown_field"])
    }

    @Test("three bad fields give three errors from one finish")
    func collectsAllErrors() throws {
        var body = try reader(#"{"name": 1, "limit": 1000, "surprise": true}"#)
        _ = body.string("name", required: true)
        _ = body.int("limit", range: 1...100)
        _ = body.enumString("channel", allowed: ["email", "sms"], required: true)
        do {
            try body.finish()
            Issue.record("finish should throw")
        } catch {
            #expect(error.kind == .badRequest)
            #expect(error.code == "validation_failed")
            #expect(codes(error.errors) == [
                "name:wrong_type", "limit:out_of_range", "channel:required", "surprise:unknown_field",
            ])
            #expect(error.detail == "4 fields are invalid.")
        }
        let three = try reader(#"{"a": 1, "b": 2, "c": 3}"#)
        var copy = three
        #expect(finishErrors(&copy).count == 3)
    }

    @Test("errors and hasErrors show progress before finish")
    func progress() throws {
        var body = try reader(#"{"name": 1}"#)
        #expect(!body.hasErrors)
        _ = body.string("name")
        #expect(body.hasErrors)
        #expect(codes(body.errors) == ["name:wrong_type"])
    }

    @Test("finish twice reports unknown fields once")
    func finishIsIdempotent() throws {
        var body = try reader(#"{"x": 1}"#)
        #expect(finishErrors(&body).count == 1)
        #expect(finishErrors(&body).count == 1)
    }

    @Test("callers can record their own errors with the reader's paths")
    func recordError() throws {
        var body = try reader(#"{"contact": {"email": "nope"}}"#)
        let contactReader = body.object("contact")
        var contact = try #require(contactReader)
        _ = contact.string("email")
        contact.recordError("invalid_email", field: "email", message: "'contact.email' is not a valid email address.")
        contact.recordError("conflict", message: "The contact is inconsistent.")
        #expect(contact.fieldPath("email") == "contact.email")
        #expect(codes(finishErrors(&body)) == ["contact.email:invalid_email", "contact:conflict"])
    }

    @Test("hostile bodies get at most maxReportedErrors errors plus a too_many_errors note")
    func errorCap() throws {
        let members = (0..<500).map { "\"k\($0)\": 0" }.joined(separator: ",")
        var body = try reader("{\(members)}")
        let errors = finishErrors(&body)
        #expect(errors.count == JSONObjectReader.maxReportedErrors + 1)
        #expect(errors.last?.code == "too_many_errors")
        #expect(errors.first?.field == "k0")
    }

    @Test("messages never echo the submitted value")
    func messagesDoNotEchoValues() throws {
        let secret = "s3cr3t-value-123"
        var body = try reader(#"""
        {"a": "\#(secret)", "b": "\#(secret)", "c": "\#(secret)", "d": ["\#(secret)"], "e": "\#(secret)"}
        """#)
        _ = body.string("a", maxLength: 3)
        _ = body.int("b")
        _ = body.enumString("c", allowed: ["x"])
        _ = body.stringArray("d", maxCount: 1, maxLength: 2)
        let errors = finishErrors(&body)
        #expect(errors.count == 5)
        for error in errors {
            #expect(!error.message.contains("s3cr3t"))
        }
    }

    // MARK: parseObject

    @Test("parseObject maps parse errors to a validation ServiceError")
    func parseObjectErrors() {
        func failure(_ bytes: [UInt8]) -> ServiceError? {
            do {
                _ = try JSONObjectReader.parseObject(bytes)
                return nil
            } catch {
                return error
            }
        }
        let duplicate = failure(Array(#"{"webhooks": [{"url": "a", "url": "b"}]}"#.utf8))
        #expect(duplicate?.code == "validation_failed")
        #expect(duplicate?.kind == .badRequest)
        #expect(duplicate?.errors.map(\.field) == ["webhooks.0.url"])
        #expect(duplicate?.errors.map(\.code) == ["duplicate_key"])
        #expect(failure([0x7B, 0xC0, 0xAF])?.errors.map(\.code) == ["invalid_utf8"])
        #expect(failure([])?.errors.map { "\($0.field):\($0.code)" } == ["body:invalid_json"])
        #expect(failure(Array((String(repeating: "[", count: 10_000)).utf8))?.errors.map(\.code) == ["too_deep"])
    }
}
