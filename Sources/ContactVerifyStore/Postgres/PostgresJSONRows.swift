import ContactVerifyCore

/// Rows as a JSON array of objects keyed by column name, the form `json_populate_recordset`
/// reads: text as strings, integers as numbers, bytes in `bytea`'s hex form (`\x…`).
enum PostgresJSONRows {
    /// The JSON text of `rows`, each a value for every one of `columns`, in order.
    static func encode(_ rows: [[StoredValue]], columns: [String]) -> String {
        let objects = rows.map { values in
            JSONValue.object(JSONObject(uniqueKeysWithValues: zip(columns, values.map(json))))
        }
        return String(decoding: JSONWriter.serialize(.array(objects)), as: UTF8.self)
    }

    private static func json(_ value: StoredValue) -> JSONValue {
        switch value {
        case .text(let text): .string(text)
        case .integer(let integer): .number(String(integer))
        case .bytes(let bytes): .string(hex(bytes))
        case .null: .null
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// `\x` and two lowercase hex digits a byte.
    private static func hex(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        text.reserveCapacity(2 + 2 * bytes.count)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
