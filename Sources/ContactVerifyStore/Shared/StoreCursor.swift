import ContactVerifyCore

/// Opaque list cursors: `base64url("<prefix>:<position>")`, the same in both stores.
enum StoreCursor {
    /// Contacts page by their insertion sequence.
    static let contacts = "s"
    /// Batch items page by their position in the request.
    static let batchItems = "p"

    static func encode(_ prefix: String, _ position: Int64) -> String {
        Base64URL.encode(Array("\(prefix):\(position)".utf8))
    }

    /// The position after which a page starts (`initial` without a cursor); `invalid_cursor`
    /// for anything this service did not issue.
    static func decode(_ cursor: String?, _ prefix: String, initial: Int64) throws -> Int64 {
        guard let cursor else { return initial }
        guard let bytes = Base64URL.decode(cursor), let text = String(validating: bytes, as: UTF8.self),
            text.hasPrefix(prefix + ":"), let position = Int64(text.dropFirst(prefix.count + 1)), position >= 0
        else { throw ServiceError.invalidCursor }
        return position
    }

    /// The page of the first `limit` of `rows` (fetched with `limit + 1`), continuing after the last.
    static func page<Item>(_ rows: [(position: Int64, item: Item)], limit: Int, _ prefix: String) -> Page<Item> {
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { encode(prefix, $0.position) } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }
}
