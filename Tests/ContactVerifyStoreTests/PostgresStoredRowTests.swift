import ContactVerifyCore
import Foundation
import Logging
import PostgresNIO
import TestServers
import Testing

@testable import ContactVerifyStore

/// Rows read from a real server: the direct readings of the binary forms, the fallback through
/// postgres-nio's decoder, NULL and absent columns, and a prefixed model's columns.
@Suite("PostgreSQL rows read by column name")
struct PostgresStoredRowTests {
    /// A statement returning one value of each type the store reads.
    enum Values: PreparedText {
        static let name = "test_stored_row_values"
        static let sql = """
            SELECT 'é ü'::text AS t, 'v'::varchar AS vc, 'n'::name AS nm, 'b '::char(2) AS bp,
                -9007199254740993::int8 AS i8, -70000::int4 AS i4, -300::int2 AS i2, true AS yes, false AS no,
                '\\x00abff'::bytea AS bin, ''::bytea AS empty, 12.5::numeric AS num,
                NULL::text AS nothing, NULL::int8 AS no_number, 'dup'::text AS c_t, 1::int8 AS c_i8, 'x'::text AS t
            """
    }

    static func check(_ row: PostgresStoredRow) {
        #expect(row.text("t") == "é ü", "a repeated name reads the leftmost column")
        #expect(row.text("vc") == "v")
        #expect(row.text("nm") == "n")
        #expect(row.text("bp") == "b ")
        #expect(row.integer("i8") == -9_007_199_254_740_993)
        #expect(row.integer("i4") == -70_000)
        #expect(row.integer("i2") == -300)
        #expect(row.integer("yes") == 1 && row.bool("yes"))
        #expect(row.integer("no") == 0 && !row.bool("no"))
        #expect(row.bytes("bin") == [0x00, 0xAB, 0xFF])
        #expect(row.bytes("empty") == [])
        #expect(row.integer("num") == nil, "a numeric goes through postgres-nio's decoder, which does not make it an integer")
        #expect(row.integer("t") == nil, "text is not an integer")
        #expect(row.text("nothing") == nil && row.integer("no_number") == nil && row.bytes("nothing") == nil)
        #expect(row.text("absent") == nil && row.integer("absent") == nil && row.bytes("absent") == nil)
        let prefixed = row.reading(row.columns.removingPrefix("c_"))
        #expect(prefixed.text("t") == "dup" && prefixed.integer("i8") == 1)
        #expect(prefixed.text("vc") == nil, "a column without the prefix is not one of the prefixed model's")
    }

    @Test("an unnamed statement's row: each type read directly, others through the decoder, NULL and absent as nil")
    func unnamed() async throws {
        let store = try await PostgresConnectionTests.store("sslmode=disable")
        defer { Task { await store.close() } }
        let rows = try await store.rows(PostgresQuery(unsafeSQL: Values.sql))
        #expect(rows.count == 1)
        Self.check(try #require(rows.first))
    }

    @Test("a prepared statement's rows read the same, every row sharing one set of columns")
    func prepared() async throws {
        let store = try await PostgresConnectionTests.store("sslmode=disable")
        defer { Task { await store.close() } }
        let logger = Logger(label: "test")
        let rows = try await store.client.withConnection { connection in
            // Twice: the first run prepares the statement on the connection, the second reuses it.
            _ = try await connection.rows(try Prepared<Values>(), logger)
            return try await connection.rows(try Prepared<Values>(), logger)
        }
        Self.check(try #require(rows.first))
        let many = try await store.rows("SELECT n, n::text AS label FROM generate_series(1, 3) AS n")
        #expect(many.map { $0.integer("n") } == [1, 2, 3] && many.map { $0.text("label") } == ["1", "2", "3"])
        #expect(many.allSatisfy { $0.columns === many[0].columns })
    }
}
