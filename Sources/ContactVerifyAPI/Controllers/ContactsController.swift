import ContactVerifyCore
import Hummingbird

/// Contacts: create, read, patch, delete, list, and the address lookup.
struct ContactsController {
    let services: AppServices

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("accounts/{accountId}/contacts", use: create)
        group.get("accounts/{accountId}/contacts", use: list)
        group.get("accounts/{accountId}/contacts/{contactId}", use: get)
        group.patch("accounts/{accountId}/contacts/{contactId}", use: patch)
        group.delete("accounts/{accountId}/contacts/{contactId}", use: delete)
        group.get("accounts/{accountId}/addresses/lookup", use: lookup)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        return try await services.idempotent(
            request, context: context, accountID: account.id,
            replay: { id in
                guard let contact = try await services.store.contact(accountID: account.id, id: id) else { throw ServiceError.notFound("contact") }
                return services.jsonReply(Representation.contact(contact, now: services.clock.now()), status: .created)
            }
        ) { body, idempotency in
            var body = try body.jsonObject()
            let name = body.string("name", required: true, maxLength: 200, nonEmpty: true)
            let email = body.string("email", maxLength: 320)
            let phone = body.string("phone", maxLength: 64)
            let locale = body.string("locale", maxLength: 35)
            let externalID = body.string("externalId", maxLength: 200)
            let webhooks = WebhookInput.read(from: &body, allowIDs: false)
            if let locale, !Locales.isValid(locale) {
                body.recordError("invalid_value", field: "locale", message: "locale must be a language tag such as en or zh-CN.")
            }
            try body.finish()
            let contact = try await services.contacts.create(
                in: account, ContactDraft(
                    name: name ?? "", email: email, phone: phone, locale: locale, externalID: externalID, webhooks: webhooks ?? []),
                idempotency: idempotency)
            return services.jsonReply(Representation.contact(contact, now: services.clock.now()), status: .created)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        guard let contact = try await services.store.contact(accountID: account.id, id: context.parameters.path("contactId")) else {
            throw ServiceError.notFound("contact")
        }
        return try services.json(Representation.contact(contact, now: services.clock.now()))
    }

    @Sendable func patch(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var request = request
        var body = try await request.jsonObject(context: context)
        var patch = ContactPatch()
        patch.name = body.string("name", maxLength: 200, nonEmpty: true)
        patch.email = body.nullableString("email", maxLength: 320)
        patch.phone = body.nullableString("phone", maxLength: 64)
        patch.locale = body.nullableString("locale", maxLength: 35)
        patch.externalID = body.nullableString("externalId", maxLength: 200)
        patch.webhooks = WebhookInput.read(from: &body, allowIDs: true)
        if case .value(let locale) = patch.locale, !Locales.isValid(locale) {
            body.recordError("invalid_value", field: "locale", message: "locale must be a language tag such as en or zh-CN.")
        }
        try body.finish()
        let contact = try await services.contacts.update(in: account, id: context.parameters.path("contactId"), patch)
        return try services.json(Representation.contact(contact, now: services.clock.now()))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        guard try await services.store.deleteContact(accountID: account.id, id: context.parameters.path("contactId"), now: services.clock.now())
        else { throw ServiceError.notFound("contact") }
        return Response(status: .noContent)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var query = QueryReader(request.uri.queryParameters)
        let channel = query.enumValue("channel", ListChannel.init(parameter:), allowed: "email, phone, sms, webhook")
        let status = query.enumValue("status", AddressStatus.init(rawValue:), allowed: "not_verified, pending, verified")
        let limit = query.int("limit", range: 1...200) ?? 50
        let cursor = query.string("cursor", maxLength: 200)
        if status != nil && channel == nil {
            query.errors.append(FieldError(field: "status", code: "requires_channel", message: "status filters need a channel."))
        }
        try query.finish(allowed: ["channel", "status", "limit", "cursor"])
        let page = try await services.store.listContacts(
            accountID: account.id, filter: ContactFilter(channel: channel?.address, status: status, webhooks: channel == .webhook),
            limit: limit, cursor: cursor)
        let now = services.clock.now()
        return try services.json(Representation.page(page) { Representation.contact($0, now: now) })
    }

    @Sendable func lookup(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var query = QueryReader(request.uri.queryParameters)
        let email = query.string("email", maxLength: 320)
        let phone = query.string("phone", maxLength: 64)
        if (email == nil) == (phone == nil) {
            query.errors.append(FieldError(field: "email", code: "exactly_one", message: "Give exactly one of email or phone."))
        }
        try query.finish(allowed: ["email", "phone"])
        let channel: AddressChannel = email != nil ? .email : .phone
        let result = try await services.contacts.lookup(in: account, channel: channel, input: email ?? phone ?? "")
        return try services.json(
            .object([
                "channel": .string(channel.rawValue),
                "valid": .bool(result.error == nil),
                "normalized": .nullable(result.normalized),
                "type": .nullable(result.phoneType?.rawValue),
                "contactId": .nullable(result.holder?.id),
                "status": .nullable(result.holder?[channel]?.status.rawValue),
                "error": result.error.map { .object(["code": .string($0.code), "message": .string($0.message)]) } ?? .null,
            ]))
    }
}

/// The `channel` of a contact list: an address channel, or `webhook` (contacts with a chatbot
/// webhook, of the given status).
private enum ListChannel: Equatable {
    case address(AddressChannel)
    case webhook

    init?(parameter: String) {
        if parameter == "webhook" {
            self = .webhook
        } else if let channel = AddressChannel(parameter: parameter) {
            self = .address(channel)
        } else {
            return nil
        }
    }

    var address: AddressChannel? {
        if case .address(let channel) = self { channel } else { nil }
    }
}
