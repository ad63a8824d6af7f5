import ContactVerifyCore
import Hummingbird

/// `PUT/GET /v1/accounts/{accountId}` and the key endpoints.
struct AccountsController {
    let services: AppServices

    func register(on group: RouterGroup<AppRequestContext>) {
        group.put("accounts/{accountId}", use: put)
        group.get("accounts/{accountId}", use: get)
        group.post("accounts/{accountId}/keys", use: createKey)
        group.delete("accounts/{accountId}/keys/{keyId}", use: revokeKey)
    }

    @Sendable func put(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireAdmin()
        let id = context.parameters.path("accountId")
        guard Account.isValidID(id) else {
            throw ServiceError.invalid("accountId", code: "invalid_value", "Account ids are 1–63 characters of a-z, 0-9, _ and -.")
        }
        var request = request
        var body = try await request.jsonObject(context: context)
        let displayName = body.string("displayName", required: true, maxLength: 200, nonEmpty: true)
        let region = body.nullableString("defaultRegion", maxLength: 2)
        let locale = body.string("locale", maxLength: 35, nonEmpty: true)
        let countriesValue = body.value("allowedCountries")
        let countries = countriesValue == nil || countriesValue == .null
            ? nil : body.stringArray("allowedCountries", maxCount: 250, maxLength: 2)
        let dailySmsLimit = body.int("dailySmsLimit", range: 0...10_000_000)
        let callbackURL = body.nullableString("callbackUrl", maxLength: 2048, nonEmpty: true)
        let callbackSecret = body.nullableString("callbackSecret", maxLength: 256)
        if case .value(let r) = region, !PhoneNumberNormalizer.isKnownRegion(r) {
            body.recordError("invalid_value", field: "defaultRegion", message: "defaultRegion must be an ISO 3166 alpha-2 region code such as US or CN.")
        }
        if let list = countries, let bad = list.firstIndex(where: { !PhoneNumberNormalizer.isKnownRegion($0) }) {
            body.recordError("invalid_value", field: "allowedCountries.\(bad)", message: "Each allowed country must be an ISO 3166 alpha-2 region code.")
        }
        if let locale, !Locales.isValid(locale) {
            body.recordError("invalid_value", field: "locale", message: "locale must be a language tag such as en or zh-CN.")
        }
        if case .value(let url) = callbackURL, case .failure(let refusal) = services.configuration.outboundTargetPolicy.check(url: url) {
            body.recordError(refusal.code, field: "callbackUrl", message: refusal.message)
        }
        if case .value(let secret) = callbackSecret, secret.utf8.count < 16 {
            body.recordError("too_short", field: "callbackSecret", message: "callbackSecret must be at least 16 characters.")
        }
        try body.finish()
        let now = services.clock.now()
        var account = Account(
            id: id, displayName: displayName ?? "", defaultRegion: region.value, locale: locale ?? "en",
            allowedCountries: countries, dailySmsLimit: dailySmsLimit ?? Account.defaultDailySmsLimit,
            callbackURL: callbackURL.value, callbackSecret: callbackSecret.value, createdAt: now, updatedAt: now)
        if case .absent = callbackSecret, let existing = try await services.store.account(id: id) {
            account.callbackSecret = existing.callbackSecret
        }
        let (stored, created) = try await services.store.putAccount(account)
        return try services.json(Representation.account(stored), status: created ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        return try services.json(Representation.account(account))
    }

    @Sendable func createKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireAdmin()
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var request = request
        var body = try await request.jsonObject(context: context, allowEmpty: true)
        let name = body.string("name", maxLength: 100)
        try body.finish()
        let (key, secret) = APIKey.generate(accountID: account.id, isAdmin: false, name: name, now: services.clock.now())
        try await services.store.insertKey(key)
        return try services.json(
            .object([
                "key": .string(secret), "id": .string(key.id), "accountId": .string(account.id),
                "name": .nullable(name), "createdAt": .date(key.createdAt),
            ]), status: .created)
    }

    @Sendable func revokeKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireAdmin()
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        guard try await services.store.revokeKey(id: context.parameters.path("keyId"), accountID: account.id, at: services.clock.now())
        else { throw ServiceError.notFound("key") }
        return Response(status: .noContent)
    }
}

extension JSONField {
    /// The value, or `nil` for `.absent` and `.null`.
    var value: Wrapped? {
        if case .value(let v) = self { v } else { nil }
    }
}
