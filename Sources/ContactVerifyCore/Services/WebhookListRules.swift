import Foundation

/// Turns a request's `webhooks` list into the contact's new list of ``ContactWebhook``s
/// (design §3): at most five, URLs checked by the ``OutboundTargetPolicy``, unique URLs and
/// names within the contact, provider-specific URL shapes, sealed credentials, and a status
/// that survives only while kind, URL and secret stay the same.
///
/// Field errors name the entry: `webhooks.2.url`.
public struct WebhookListRules: Sendable {
    let policy: OutboundTargetPolicy
    let sealer: WebhookSealer

    public init(policy: OutboundTargetPolicy, sealer: WebhookSealer) {
        self.policy = policy
        self.sealer = sealer
    }

    /// The list that replaces `existing`. Entries with an `id` keep that webhook (absent
    /// fields unchanged); entries without one add a webhook; webhooks not listed are removed.
    public func apply(_ drafts: [WebhookDraft], to existing: [ContactWebhook], now: Date) throws(ServiceError) -> [ContactWebhook] {
        var errors: [FieldError] = []
        func fail(_ index: Int, _ field: String, _ code: String, _ message: String) {
            errors.append(FieldError(field: "webhooks.\(index)\(field.isEmpty ? "" : ".")\(field)", code: code, message: message))
        }
        if drafts.count > ContactWebhook.maxPerContact {
            throw ServiceError.invalid("webhooks", code: "too_many", "A contact holds at most \(ContactWebhook.maxPerContact) webhooks.")
        }
        var result: [ContactWebhook] = []
        var seenIDs: Set<String> = []
        for (index, draft) in drafts.enumerated() {
            var previous: ContactWebhook?
            if let id = draft.id {
                previous = existing.first { $0.id == id }
                if previous == nil { fail(index, "id", "not_found", "The contact has no webhook with this id.") }
                if !seenIDs.insert(id).inserted { fail(index, "id", "duplicate", "The webhook is listed twice.") }
            } else {
                if draft.kind == nil { fail(index, "kind", "required", "'webhooks.\(index).kind' is required.") }
                if draft.name == nil { fail(index, "name", "required", "'webhooks.\(index).name' is required.") }
                if draft.url == nil { fail(index, "url", "required", "'webhooks.\(index).url' is required.") }
            }
            guard draft.id == nil || previous != nil, let kind = draft.kind ?? previous?.kind, let name = draft.name ?? previous?.name
            else { continue }
            let id = previous?.id ?? ContactWebhook.makeID()

            var webhook = previous ?? ContactWebhook(
                id: id, kind: kind, name: name, maskedURL: "", urlKey: [], sealedURL: [], sealedSecret: nil, createdAt: now, updatedAt: now)
            var credentialsChanged = webhook.kind != kind
            webhook.kind = kind
            webhook.name = name

            var url = draft.url
            if url == nil, kind != previous?.kind, let previous {
                // The URL's shape is checked against the kind: reread the stored one.
                url = sealer.open(previous.sealedURL, webhookID: id, field: .url)
            }
            if let url {
                switch policy.check(url: url) {
                case .failure(let refusal):
                    fail(index, "url", refusal.code, refusal.message)
                    continue
                case .success(let target):
                    if let problem = Self.shapeProblem(kind: kind, url: url) {
                        fail(index, "url", "invalid_url", problem)
                        continue
                    }
                    let key = sealer.urlKey(url)
                    if key != webhook.urlKey {
                        credentialsChanged = true
                        webhook.urlKey = key
                        webhook.maskedURL = target.masked
                        webhook.sealedURL = sealer.seal(url, webhookID: id, field: .url)
                    }
                }
            }
            switch draft.secret {
            case .absent: break
            case .null:
                credentialsChanged = credentialsChanged || webhook.sealedSecret != nil
                webhook.sealedSecret = nil
            case .value(let secret):
                if let previousSecret = webhook.sealedSecret, sealer.open(previousSecret, webhookID: id, field: .secret) == secret {
                    break
                }
                credentialsChanged = true
                webhook.sealedSecret = sealer.seal(secret, webhookID: id, field: .secret)
            }
            if kind == .wecom && webhook.sealedSecret != nil {
                fail(index, "secret", "not_supported", "WeCom robots have no signing secret: the key in the URL is the credential.")
            }
            if credentialsChanged {
                webhook.status = .notVerified
                webhook.verifiedAt = nil
                webhook.testedAt = nil
                webhook.lastProviderCode = nil
                webhook.lastMessage = nil
            }
            if webhook != previous { webhook.updatedAt = now }
            if result.contains(where: { $0.urlKey == webhook.urlKey }) {
                fail(index, "url", "duplicate", "Another webhook of this contact has the same URL.")
            }
            if result.contains(where: { $0.name == webhook.name }) {
                fail(index, "name", "duplicate", "Another webhook of this contact has the same name.")
            }
            result.append(webhook)
        }
        if !errors.isEmpty { throw ServiceError.validation(errors) }
        return result
    }

    /// What is wrong with a URL for this kind of robot, if anything: DingTalk's carries an
    /// `access_token` and WeCom's a `key` (a URL without them cannot work).
    static func shapeProblem(kind: WebhookKind, url: String) -> String? {
        let names = URLComponents(string: url)?.queryItems?.filter { !($0.value ?? "").isEmpty }.map(\.name) ?? []
        switch kind {
        case .dingtalk where !names.contains("access_token"):
            return "A DingTalk robot URL carries its access_token (…/robot/send?access_token=…)."
        case .wecom where !names.contains("key"):
            return "A WeCom robot URL carries its key (…/cgi-bin/webhook/send?key=…)."
        case .dingtalk where names.contains("sign") || names.contains("timestamp"):
            return "Give the DingTalk URL without timestamp and sign; they are added to each message."
        default:
            return nil
        }
    }
}
