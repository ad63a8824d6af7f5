import ContactVerifyCore

/// Reads the `webhooks` member of a contact body: a list of at most five
/// `{kind, name, url, secret?}` objects; in a PATCH an entry may instead name an existing
/// webhook by `id` (changing only the fields it gives), and `null` removes every webhook.
enum WebhookInput {
    /// The drafts, `nil` when the member is absent (or invalid: then errors are recorded).
    static func read(from body: inout JSONObjectReader, allowIDs: Bool) -> [WebhookDraft]? {
        guard let value = body.value("webhooks") else { return nil }
        if allowIDs, value == .null { return [] }
        guard let entries = body.objectArray("webhooks", maxCount: ContactWebhook.maxPerContact) else { return nil }
        return entries.map { entry in
            var entry = entry
            var draft = WebhookDraft()
            if allowIDs { draft.id = entry.string("id", maxLength: 64, nonEmpty: true) }
            draft.kind = entry.enumValue("kind", as: WebhookKind.self)
            draft.name = entry.string("name", maxLength: 100, nonEmpty: true)
            draft.url = entry.string("url", maxLength: OutboundTargetPolicy.maxURLLength, nonEmpty: true)
            draft.secret = entry.nullableString("secret", maxLength: 256, nonEmpty: true)
            return draft
        }
    }
}
