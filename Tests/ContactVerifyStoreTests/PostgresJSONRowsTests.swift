import ContactVerifyCore
import Testing

@testable import ContactVerifyStore

/// The rows PostgreSQL's `json_populate_recordset` reads (its reading them is tested against a
/// real server by PostgresUpdateGroupTests).
@Suite("PostgreSQL JSON rows")
struct PostgresJSONRowsTests {
    @Test("each row is an object keyed by column, in column order: text as strings, integers as numbers, bytes as \\x hex, null")
    func rows() throws {
        let text = PostgresJSONRows.encode(
            [
                [.text("v1"), .integer(-42), .bytes([0x00, 0xAB, 0xFF]), .null],
                [.text("quote \" back \\ line\n <&>"), .integer(Int64.max), .bytes([]), .text("é")],
            ],
            columns: ["id", "attempts", "token_key", "approved_at"])
        #expect(
            text == #"[{"id":"v1","attempts":-42,"token_key":"\\x00abff","approved_at":null},"#
                + #"{"id":"quote \" back \\ line\n \u003c\u0026\u003e","attempts":9223372036854775807,"token_key":"\\x","approved_at":"é"}]"#)
        let parsed = try JSONParser.parse(Array(text.utf8))
        #expect(parsed == [
            ["id": "v1", "attempts": .number("-42"), "token_key": "\\x00abff", "approved_at": nil],
            ["id": "quote \" back \\ line\n <&>", "attempts": .number("9223372036854775807"), "token_key": "\\x", "approved_at": "é"],
        ])
    }

    @Test("no rows make an empty array")
    func empty() {
        #expect(PostgresJSONRows.encode([], columns: ["id"]) == "[]")
    }
}
