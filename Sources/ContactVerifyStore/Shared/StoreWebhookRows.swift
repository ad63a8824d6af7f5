import ContactVerifyCore
import Foundation

/// Rows of `contact_webhooks`, shared by both stores. A contact's webhooks are saved as a
/// whole (delete and insert in the contact's transaction); `position` keeps the caller's
/// order, and the schema allows positions 0–4 only, so five is a limit of the database too.
extension StoreRows {
    static func webhook(_ row: some StoredRow) -> (contactID: String, webhook: ContactWebhook) {
        let webhook = ContactWebhook(
            id: row.text("id") ?? "", kind: row.text("kind").flatMap(WebhookKind.init(rawValue:)) ?? .custom, name: row.text("name") ?? "",
            maskedURL: row.text("masked_url") ?? "", urlKey: row.bytes("url_key") ?? [], sealedURL: row.bytes("sealed_url") ?? [],
            sealedSecret: row.bytes("sealed_secret"), status: row.text("status").flatMap(AddressStatus.init(rawValue:)) ?? .notVerified,
            verifiedAt: row.date("verified_at"), testedAt: row.date("tested_at"), lastProviderCode: row.text("last_code"),
            lastMessage: row.text("last_message"), createdAt: row.date("created_at") ?? .distantPast,
            updatedAt: row.date("updated_at") ?? .distantPast)
        return (row.text("contact_id") ?? "", webhook)
    }

    /// Column values of one webhook of `contact` at `position`, in the order of ``webhookColumns``.
    static func webhookValues(_ w: ContactWebhook, of contact: Contact, position: Int) -> [StoredValue] {
        [
            .init(w.id), .init(contact.id), .init(contact.accountID), .init(position), .init(w.kind.rawValue), .init(w.name),
            .init(w.maskedURL), .init(w.urlKey), .init(w.sealedURL), .init(w.sealedSecret), .init(w.status.rawValue),
            .init(w.verifiedAt), .init(w.testedAt), .init(w.lastProviderCode), .init(w.lastMessage), .init(w.createdAt),
            .init(w.updatedAt),
        ]
    }

    static let webhookColumns = [
        "id", "contact_id", "account_id", "position", "kind", "name", "masked_url", "url_key", "sealed_url", "sealed_secret", "status",
        "verified_at", "tested_at", "last_code", "last_message", "created_at", "updated_at",
    ]

    /// `contacts` with the webhooks of `rows` (in position order) attached.
    static func attach(_ rows: [(contactID: String, webhook: ContactWebhook)], to contacts: [Contact]) -> [Contact] {
        let byContact = Dictionary(grouping: rows, by: \.contactID)
        return contacts.map { contact in
            var contact = contact
            contact.webhooks = byContact[contact.id]?.map(\.webhook) ?? []
            return contact
        }
    }

    /// The `WHERE` condition of `channel=webhook` lists (`?`/`$n` placeholder for a status).
    static func webhookCondition(statusPlaceholder: String?) -> String {
        let status = statusPlaceholder.map { " AND w.status = \($0)" } ?? ""
        return " AND EXISTS (SELECT 1 FROM contact_webhooks w WHERE w.contact_id = contacts.id\(status))"
    }
}
