import ContactVerifyCore
import Testing

@Suite("JSONParser")
struct JSONParserTests {
    // MARK: Helpers

    private func parse(_ text: String, maxDepth: Int = 32) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private func parseError(_ bytes: [UInt8], maxDepth: Int = 32) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes, maxDepth: maxDepth)
            return nil
        } catch {
            return error
        }
    }

    private func parseError(_ text: String, maxDepth: Int = 32) -> JSONParseError? {
        parseError(Array(text.utf8), maxDepth: maxDepth)
    }

    // MARK: Valid documents

    @Test("scalars parse to the matching values, numbers keeping their literal text")
    func scalars() throws {
        #expect(try parse("null") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("0") == .number("0"))
        #expect(try parse("-0") == .number("-0"))
        #expect(try parse("12.50e-3") == .number("12.50e-3"))
        #expect(try parse("1E+2") == .number("1E+2"))
        #expect(try parse("123456789012345678901234567890") == .number("123456789012345678901234567890"))
        #expect(try parse(#""hi""#) == .string("hi"))
        #expect(try parse(#""""#) == .string(""))
    }

    @Test("surrounding whitespace is allowed")
    func whitespace() throws {
        #expect(try parse(" \t\r\n[ 1 , 2 ]\n ") == .array([.number("1"), .number("2")]))
        #expect(try parse("{ \"a\" : { } , \"b\" : [ ] }") == .object(["a": .object([:]), "b": .array([])]))
    }

    @Test("a nested document round-trips to the expected value with keys in order")
    func nestedDocument() throws {
        let text = #"""
        {"name": "Ann", "locale": "zh-CN", "externalId": null, "vip": true,
         "webhooks": [{"kind": "slack", "url": "https://x.test/a"}, {"kind": "teams", "url": "https://x.test/b"}],
         "score": -1.5e3, "tags": [], "meta": {}}
        """#
        let value = try parse(text)
        let expected: JSONValue = [
            "name": "Ann", "locale": "zh-CN", "externalId": nil, "vip": true,
            "webhooks": [["kind": "slack", "url": "https://x.test/a"], ["kind": "teams", "url": "https://x.test/b"]],
            "score": .number("-1.5e3"), "tags": [], "meta": [:],
        ]
        #expect(value == expected)
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object.keys == ["name", "locale", "externalId", "vip", "webhooks", "score", "tags", "meta"])
        #expect(object["webhooks"]?.typeName == "array")
        #expect(object["missing"] == nil)
    }

    @Test("escapes decode, including surrogate pairs and escaped NUL")
    func escapes() throws {
        let value = try parse(#""q\" b\\ s\/ \b\f\n\r\t \u00e9\u4E2D \ud83d\ude00 \u0000""#)
        #expect(value == .string("q\" b\\ s/ \u{8}\u{C}\n\r\t é中 😀 \u{0}"))
    }

    @Test("raw UTF-8 is kept scalar for scalar, without normalization")
    func noNormalization() throws {
        let decomposed = "e\u{301}"   // e + COMBINING ACUTE ACCENT
        guard case .string(let string) = try parse("\"\(decomposed)\"") else {
            Issue.record("expected a string")
            return
        }
        #expect(Array(string.unicodeScalars) == Array(decomposed.unicodeScalars))
        #expect(try parse("\"中文 🇨🇳 \u{10FFFF}\"") == .string("中文 🇨🇳 \u{10FFFF}"))
    }

    @Test("long strings with specials at every alignment are handled by the word-at-a-time scan")
    func longStrings() throws {
        for length in 0..<40 {
            let plain = String(repeating: "a", count: length)
            #expect(try parse("\"\(plain)\"") == .string(plain))
            #expect(try parse("\"\(plain)\\n\(plain)\"") == .string("\(plain)\n\(plain)"))
            #expect(try parse("\"\(plain)é\(plain)\"") == .string("\(plain)é\(plain)"))
            let error = parseError("\"\(plain)\u{1F}\(plain)\"")
            #expect(error?.kind == .syntax)
            #expect(error?.offset == length + 1)
        }
    }

    @Test("objects larger than the linear-lookup limit find keys and catch duplicates")
    func largeObjects() throws {
        let members = (0..<30).map { "\"k\($0)\": \($0)" }
        let value = try parse("{\(members.joined(separator: ","))}")
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object.count == 30)
        #expect(object["k29"] == .number("29"))
        #expect(object.keys.first == "k0")

        let error = parseError("{\(members.joined(separator: ",")), \"k3\": 1}")
        #expect(error?.kind == .duplicateKey)
        #expect(error?.path == "k3")
    }

    @Test("objects compare equal regardless of key order")
    func objectEquality() {
        let one: JSONObject = ["a": 1, "b": [true, nil]]
        let other: JSONObject = ["b": [true, nil], "a": 1]
        #expect(one == other)
        #expect(one != ["a": 1])
        #expect(one != ["a": 2, "b": [true, nil]])
        #expect(JSONValue.number("1") != JSONValue.number("1.0"))
    }

    @Test("JSONObject.insert refuses an existing key")
    func insertRefusesDuplicates() {
        var object = JSONObject()
        let first = object.insert(1, forKey: "a")
        let second = object.insert(2, forKey: "a")
        #expect(first)
        #expect(!second)
        #expect(object["a"] == 1)
        #expect(object.count == 1)
    }

    @Test("any contiguous or non-contiguous byte collection can be parsed")
    func collections() throws {
        let text = #"{"a": [1, "x"]}"#
        let expected: JSONValue = ["a": [1, "x"]]
        #expect(try JSONParser.parse(text.utf8) == expected)
        #expect(try JSONParser.parse(Array(text.utf8)[...]) == expected)
        #expect(try JSONParser.parse(AnyCollection(text.utf8)) == expected)
        let fromRaw = try Array(text.utf8).withUnsafeBytes { bytes in
            try JSONParser.parse(bytes)
        }
        #expect(fromRaw == expected)
    }

    @Test("typeName names every JSON type")
    func typeNames() {
        let names = ([nil, true, 1, "s", [], [:]] as [JSONValue]).map(\.typeName)
        #expect(names == ["null", "boolean", "number", "string", "array", "object"])
    }

    // MARK: Rejections

    static let syntaxErrors: [String] = [
        "01", "-01", "00", "1.", ".5", "-", "1e", "1e+", "1E-", "+1", "1.e3", "-.5",
        "NaN", "Infinity", "-Infinity", "nul", "tru", "True", "undefined",
        "[1,]", #"{"a":1,}"#, "[,1]", "[1,,2]", "{,}", "[", "[1", "{", #"{"a""#, #"{"a":"#, #"{"a" 1}"#,
        #"{"a":1 "b":2}"#, "[1 2]", "{a:1}", "{'a':1}", "['a']", #""abc"#, #""\x""#, #""\u12""#, #""\u12G4""#,
        "// c\n1", "/* c */ 1", "]", "}", ":", ",",
    ]

    @Test("malformed JSON is a syntax error", arguments: syntaxErrors)
    func syntaxError(text: String) {
        let error = parseError(text)
        #expect(error?.kind == .syntax, "\(text)")
        #expect(error?.fieldError.code == "invalid_json")
    }

    static let trailing: [String] = ["{} x", "[1] ]", "truex", "1 2", "\"a\" \"b\"", "[1] // c", "null,", "{}{}", "1.5.2", "0x10"]

    @Test("content after the value is trailing content", arguments: trailing)
    func trailingContent(text: String) {
        let error = parseError(text)
        #expect(error?.kind == .trailingContent, "\(text)")
        #expect(error?.fieldError == FieldError(field: "body", code: "invalid_json", message: error?.message ?? ""))
    }

    @Test("an empty or blank body is empty", arguments: ["", " ", " \r\n\t "])
    func empty(text: String) {
        let error = parseError(text)
        #expect(error?.kind == .empty)
        #expect(error?.fieldError.field == "body")
        #expect(error?.fieldError.code == "invalid_json")
    }

    @Test("leading zeros, bare fractions and dangling exponents are named in the message")
    func numberMessages() {
        #expect(parseError("01")?.message.contains("leading zeros") == true)
        #expect(parseError("[1, 01]")?.offset == 5)
        #expect(parseError("[1, 01]")?.path == "1")
        #expect(parseError("1.")?.message.contains("decimal point") == true)
        #expect(parseError("1e")?.message.contains("exponent") == true)
    }

    static let invalidUTF8Documents: [[UInt8]] = [
        [0x22, 0xC0, 0xAF, 0x22],              // overlong "/"
        [0x22, 0xC1, 0xBF, 0x22],              // overlong
        [0x22, 0xE0, 0x80, 0xAF, 0x22],        // overlong three-byte
        [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22],  // overlong four-byte
        [0x22, 0xED, 0xA0, 0x80, 0x22],        // UTF-8-encoded high surrogate U+D800
        [0x22, 0xED, 0xBF, 0xBF, 0x22],        // UTF-8-encoded low surrogate U+DFFF
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
        [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],  // invalid lead byte
        [0x22, 0xFF, 0x22],                    // invalid byte
        [0x22, 0x80, 0x22],                    // lone continuation byte
        [0x22, 0xE2, 0x82, 0x22],              // truncated before the quote
        [0x22, 0xE2, 0x82],                    // truncated at the end
        [0x22, 0x61, 0x5C, 0x6E, 0xC3, 0x22],  // truncated after an escape (slow path)
        [0x7B, 0x22, 0xC0, 0x80, 0x22, 0x3A, 0x31, 0x7D],  // in a key
        [0xFF],                                // outside strings
        [0x5B, 0xC3, 0x5D],                    // outside strings, truncated
        [0x7B, 0xC0, 0xAF],                    // where a key should start
        [0x31, 0x20, 0xED, 0xA0, 0x80],        // as trailing content
        [0x74, 0x72, 0xFF],                    // inside a literal
    ]

    @Test("invalid UTF-8 anywhere is rejected as invalid UTF-8", arguments: invalidUTF8Documents)
    func invalidUTF8(bytes: [UInt8]) {
        let error = parseError(bytes)
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.fieldError.code == "invalid_utf8")
    }

    @Test("the byte offset of invalid UTF-8 points at the bad sequence")
    func invalidUTF8Offset() {
        let bytes = Array(#"{"name": "abcdefghijklmnop"#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8)
        let error = parseError(bytes)
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.offset == 26)
        #expect(error?.path == "name")
        #expect(error?.fieldError.field == "name")
    }

    @Test("a byte order mark is rejected")
    func byteOrderMark() {
        #expect(parseError([0xEF, 0xBB, 0xBF] + Array("{}".utf8))?.kind == .syntax)
    }

    static let loneSurrogates: [String] = [
        #""\ud800""#, #""\uDBFF x""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800\ud800""#, #""\ud800\n""#, #""a\ud83d"#,
    ]

    @Test("lone surrogate escapes are rejected", arguments: loneSurrogates)
    func loneSurrogate(text: String) {
        #expect(parseError(text)?.kind == .syntax)
    }

    @Test("raw control characters in strings are rejected", arguments: [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8])
    func controlCharacter(byte: UInt8) {
        let error = parseError([0x22, 0x61, byte, 0x62, 0x22])
        #expect(error?.kind == .syntax)
        #expect(error?.offset == 2)
        #expect(error?.message.contains("Control characters") == true)
    }

    @Test("DEL and other printable bytes need no escape")
    func deleteIsAllowed() throws {
        #expect(try parse("\"a\u{7F}b\"") == .string("a\u{7F}b"))
    }

    @Test("a duplicate key is rejected with the path of the duplicate")
    func duplicateKey() {
        let flat = parseError(#"{"a":1,"a":2}"#)
        #expect(flat?.kind == .duplicateKey)
        #expect(flat?.path == "a")
        #expect(flat?.offset == 7)
        #expect(flat?.fieldError.field == "a")
        #expect(flat?.fieldError.code == "duplicate_key")

        let deep = parseError(#"{"webhooks": [{"url": "a"}, {"kind": "x", "url": "b", "url": "c"}]}"#)
        #expect(deep?.kind == .duplicateKey)
        #expect(deep?.path == "webhooks.1.url")
        #expect(deep?.fieldError.field == "webhooks.1.url")
    }

    @Test("keys that decode to the same text through escapes are duplicates")
    func escapedDuplicateKey() {
        #expect(parseError(#"{"ab": 1, "a\u0062": 2}"#)?.kind == .duplicateKey)
    }

    @Test("errors deep in a document carry the path to the bad value")
    func errorPaths() {
        #expect(parseError(#"{"filter": {"status": tru}}"#)?.path == "filter.status")
        #expect(parseError(#"{"a": [1, 2, {"b": [0, 01]}]}"#)?.path == "a.2.b.1")
        #expect(parseError(#"{"a": 1, "b": "#)?.path == "b")
        #expect(parseError(#"{"a": 1,}"#)?.path == "")
        #expect(parseError(#"{"a": {"b": 1,}}"#)?.path == "a")
    }

    @Test("10,000 nested arrays are too deep, not a crash")
    func deepArrays() {
        let open = parseError(String(repeating: "[", count: 10_000))
        #expect(open?.kind == .tooDeep)
        #expect(open?.offset == 32)
        #expect(open?.fieldError.code == "too_deep")

        let balanced = parseError(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000))
        #expect(balanced?.kind == .tooDeep)

        let objects = parseError(String(repeating: #"{"a":"#, count: 10_000))
        #expect(objects?.kind == .tooDeep)
        #expect(objects?.path == Array(repeating: "a", count: 32).joined(separator: "."))
    }

    @Test("even a huge maxDepth does not recurse")
    func hugeMaxDepth() throws {
        let depth = 20_000
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value = try parse(text, maxDepth: depth)
        var levels = 0
        while case .array(let items) = value, let first = items.first {
            value = first
            levels += 1
        }
        #expect(levels == depth - 1)
    }

    @Test("maxDepth allows exactly that many open containers")
    func depthBoundary() throws {
        let ok = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(throws: Never.self) { try parse(ok) }
        let tooDeep = "[" + ok + "]"
        #expect(parseError(tooDeep)?.kind == .tooDeep)
        #expect(try parse("[[1]]", maxDepth: 2) == [[1]])
        #expect(parseError("[[1]]", maxDepth: 1)?.kind == .tooDeep)
        #expect(try parse("1", maxDepth: 0) == 1)
        #expect(try parse("[]", maxDepth: 1) == [])
    }

    @Test("messages never quote the document")
    func messagesDoNotEchoInput() {
        let secret = "hunter2-secret"
        let documents: [[UInt8]] = [
            Array("{\"password\": \"\(secret)\u{01}\"}".utf8),
            Array("{\"password\": \"\(secret)\"}} \(secret)".utf8),
            Array("{\"password\": \(secret)}".utf8),
            Array("{\"password\": \"\(secret)".utf8) + [0xC0],
        ]
        for document in documents {
            let error = parseError(document)
            #expect(error != nil)
            #expect(error?.message.contains("hunter") == false)
        }
    }
}
