import ContactVerifyCore
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    private func text(_ value: JSONValue) -> String {
        String(decoding: JSONWriter.serialize(value), as: UTF8.self)
    }

    @Test("scalars, arrays and objects are written compactly, members in their order")
    func shapes() {
        #expect(text(.null) == "null")
        #expect(text(.bool(true)) == "true")
        #expect(text(.bool(false)) == "false")
        #expect(text(.number("-12.5e3")) == "-12.5e3")
        #expect(text([]) == "[]")
        #expect(text(.object(JSONObject())) == "{}")
        #expect(text(["z": 1, "a": [nil, "x", false], "m": ["k": "v"]]) == #"{"z":1,"a":[null,"x",false],"m":{"k":"v"}}"#)
    }

    @Test("quotes, backslashes, controls and DEL are escaped; < > & too, so the text is safe inside HTML")
    func escapes() {
        #expect(text("plain") == #""plain""#)
        #expect(text("") == #""""#)
        #expect(text("a\"b\\c") == #""a\"b\\c""#)
        #expect(text("\n\r\t") == #""\n\r\t""#)
        #expect(text("\u{0}\u{1}\u{1F}\u{7F}") == #""\u0000\u0001\u001f\u007f""#)
        #expect(text("</script><!--&") == #""\u003c/script\u003e\u003c!--\u0026""#)
        #expect(text("x\"") == #""x\"""#)
        #expect(text("\"x") == #""\"x""#)
    }

    @Test("text beyond ASCII is written as its UTF-8, unescaped")
    func unicode() {
        #expect(JSONWriter.serialize("é🙂ü") == Array(#""é🙂ü""#.utf8))
        // A string longer than the small-string form, with escapes between long runs.
        let long = String(repeating: "añ", count: 40) + "\"" + String(repeating: "b", count: 40) + "<"
        #expect(text(.string(long)) == "\"" + String(repeating: "añ", count: 40) + "\\\"" + String(repeating: "b", count: 40) + "\\u003c\"")
    }

    @Test("what it writes parses back to the same value")
    func roundTrip() throws {
        let strings = ["", "a", "\"\\/", "\u{0}\u{8}\u{C}\u{1B}\u{7F}", "<&>", "日本語", "🙂\u{301}e\u{301}", String(repeating: "x\u{1}", count: 100)]
        let value: JSONValue = .array(strings.map(JSONValue.string) + [.object(JSONObject(uniqueKeysWithValues: strings.enumerated().map { ("\($0.element)\($0.offset)", .number(String($0.offset))) }))])
        #expect(try JSONParser.parse(JSONWriter.serialize(value)) == value)
    }

    @Test("append adds to what the buffer holds")
    func appendKeepsPrefix() {
        var out = Array("prefix ".utf8)
        JSONWriter.append(["k": "v\n"], to: &out)
        JSONWriter.appendString("<", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"prefix {"k":"v\n"}"\u003c""#)
    }
}
