import ContactVerifyCore

/// Rows as a JSON array of objects keyed by column name, the form `json_populate_recordset`
/// reads: text as strings, integers as numbers, bytes in `bytea`'s hex form (`\x…`).
///
/// Written straight into bytes, each column's quoted key made once a call: through a
/// ``JSONObject`` a row (with a hash index for a contact's 19 columns) this encoding took 8 % of
/// the service's CPU in the PostgreSQL link-confirmation benchmark.
enum PostgresJSONRows {
    /// The JSON text of `rows`, each a value for every one of `columns`, in order.
    static func encode(_ rows: [[StoredValue]], columns: [String]) -> String {
        let keys = columns.map { column in
            var key: [UInt8] = []
            JSONWriter.appendString(column, to: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(rows.count * 32 * columns.count)
        for (row, values) in rows.enumerated() {
            precondition(values.count == columns.count, "a row needs a value for every column")
            if row > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            for (column, value) in values.enumerated() {
                if column > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: keys[column])
                append(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(_ value: StoredValue, to out: inout [UInt8]) {
        switch value {
        case .text(let text): JSONWriter.appendString(text, to: &out)
        case .integer(let integer): out.append(contentsOf: String(integer).utf8)
        case .bytes(let bytes): appendHex(bytes, to: &out)
        case .null: out.append(contentsOf: "null".utf8)
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// `"\\x…"`: the JSON string of `\x` and two lowercase hex digits a byte.
    private static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: #""\\x"#.utf8)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        out.append(UInt8(ascii: "\""))
    }
}
