import Foundation

/// The fields of a new contact, as the caller sent them (not yet normalized).
public struct ContactDraft: Sendable {
    public var name: String
    public var email: String?
    public var phone: String?
    public var locale: String?
    public var externalID: String?
    /// Chatbot webhooks to add (entries without `id`).
    public var webhooks: [WebhookDraft]

    public init(
        name: String, email: String? = nil, phone: String? = nil, locale: String? = nil, externalID: String? = nil,
        webhooks: [WebhookDraft] = []
    ) {
        self.name = name
        self.email = email
        self.phone = phone
        self.locale = locale
        self.externalID = externalID
        self.webhooks = webhooks
    }
}

/// A partial update: `.absent` keeps a field, `.null` removes it, `.value` sets it.
public struct ContactPatch: Sendable {
    public var name: String?
    public var email: JSONField<String> = .absent
    public var phone: JSONField<String> = .absent
    public var locale: JSONField<String> = .absent
    public var externalID: JSONField<String> = .absent
    /// The new list of webhooks (see ``WebhookListRules/apply(_:to:now:)``); `nil` keeps them.
    public var webhooks: [WebhookDraft]?

    public init() {}
}

/// What a front end learns before saving an address.
public struct AddressLookup: Sendable {
    public var channel: AddressChannel
    public var normalized: String?
    public var phoneType: PhoneNumberType?
    public var error: AddressError?
    public var holder: Contact?
}

/// Contact rules: normalization, one address per channel, uniqueness inside the account,
/// and the reset of an address's status when its value changes (design §1–2).
public struct ContactService: Sendable {
    let store: any Store
    let clock: any WallClock
    let webhooks: WebhookListRules
    let emails = EmailNormalizer()
    let phones = PhoneNumberNormalizer()

    public init(store: any Store, clock: any WallClock, webhooks: WebhookListRules) {
        self.store = store
        self.clock = clock
        self.webhooks = webhooks
    }

    /// Creates a contact; `409 email_taken/phone_taken` when another contact holds an address.
    /// With `idempotency`, the store records the contact's id on that `Idempotency-Key` claim.
    public func create(in account: Account, _ draft: ContactDraft, idempotency: IdempotencyMark? = nil) async throws -> Contact {
        var errors: [FieldError] = []
        let email = draft.email.flatMap { normalizeEmail($0, into: &errors) }
        let phone = draft.phone.flatMap { normalizePhone($0, account: account, into: &errors) }
        if draft.email == nil && draft.phone == nil { throw ServiceError.addressRequired }
        let now = clock.now()
        var webhooks: [ContactWebhook] = []
        do { webhooks = try self.webhooks.apply(draft.webhooks, to: [], now: now) } catch { errors += error.errors }
        if !errors.isEmpty { throw ServiceError.validation(errors) }
        let contact = Contact(
            id: Contact.makeID(), accountID: account.id, name: draft.name, locale: draft.locale,
            externalID: draft.externalID, email: email.map(ContactAddress.init), phone: phone.map(ContactAddress.init),
            webhooks: webhooks, createdAt: now, updatedAt: now)
        try await store.insertContact(contact, idempotency: idempotency)
        return contact
    }

    /// Applies a patch. A changed address starts over as `not_verified` (its open
    /// verifications are canceled by the store); an unchanged one keeps its status.
    public func update(in account: Account, id: String, _ patch: ContactPatch) async throws -> Contact {
        var errors: [FieldError] = []
        let email = patch.email.map { normalizeEmail($0, into: &errors) }
        let phone = patch.phone.map { normalizePhone($0, account: account, into: &errors) }
        if !errors.isEmpty { throw ServiceError.validation(errors) }
        let now = clock.now()
        let rules = webhooks
        return try await store.updateContact(accountID: account.id, id: id, now: now) { contact in
            if let drafts = patch.webhooks { contact.webhooks = try rules.apply(drafts, to: contact.webhooks, now: now) }
            if let name = patch.name { contact.name = name }
            Self.apply(email, to: &contact.email, makeAddress: ContactAddress.init)
            Self.apply(phone, to: &contact.phone, makeAddress: ContactAddress.init)
            if case .value(let locale) = patch.locale { contact.locale = locale } else if case .null = patch.locale { contact.locale = nil }
            if case .value(let externalID) = patch.externalID { contact.externalID = externalID } else if case .null = patch.externalID { contact.externalID = nil }
            if contact.email == nil && contact.phone == nil { throw ServiceError.addressRequired }
        }
    }

    /// Normalizes an email or phone and says which contact of the account holds it.
    public func lookup(in account: Account, channel: AddressChannel, input: String) async throws -> AddressLookup {
        var result = AddressLookup(channel: channel)
        do {
            switch channel {
            case .email:
                let email = try emails.normalize(input)
                result.normalized = email.address
                result.holder = try await store.contactHolding(accountID: account.id, channel: .email, key: email.key)
            case .phone:
                let phone = try phones.normalize(input, defaultRegion: account.defaultRegion)
                result.normalized = phone.e164
                result.phoneType = phone.type
                result.holder = try await store.contactHolding(accountID: account.id, channel: .phone, key: phone.e164)
            }
        } catch let error as AddressError {
            result.error = error
        }
        return result
    }

    // MARK: Helpers

    private func normalizeEmail(_ input: String, into errors: inout [FieldError]) -> NormalizedEmail? {
        do { return try emails.normalize(input) } catch {
            errors.append(FieldError(field: "email", code: error.code, message: error.message))
            return nil
        }
    }

    private func normalizePhone(_ input: String, account: Account, into errors: inout [FieldError]) -> NormalizedPhone? {
        do { return try phones.normalize(input, defaultRegion: account.defaultRegion) } catch {
            errors.append(FieldError(field: "phone", code: error.code, message: error.message))
            return nil
        }
    }

    /// Sets, keeps or removes one address; a new value resets the status.
    private static func apply<N>(_ field: JSONField<N?>, to address: inout ContactAddress?, makeAddress: (N) -> ContactAddress) {
        switch field {
        case .absent: return
        case .null: address = nil
        case .value(let normalized):
            guard let normalized else { return }
            let fresh = makeAddress(normalized)
            if address?.key == fresh.key {
                address?.value = fresh.value
                address?.phoneType = fresh.phoneType
            } else {
                var replaced = fresh
                replaced.failedChecks = address?.failedChecks ?? 0
                replaced.lockedUntil = address?.lockedUntil
                address = replaced
            }
        }
    }
}

extension ServiceError {
    /// A contact must keep an email or a phone.
    public static let addressRequired = ServiceError(
        .badRequest, code: "address_required", detail: "A contact needs an email address or a phone number.",
        errors: [FieldError(field: "email", code: "address_required", message: "Give an email address or a phone number.")])
}
