import ContactVerifyCore
import ContactVerifyDelivery
import Hummingbird
import Logging

/// Verifications: start (or resend), read, check a code, cancel; and the admin unlock of an
/// address that too many failed checks locked.
struct VerificationsController {
    let services: AppServices

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("accounts/{accountId}/contacts/{contactId}/verifications", use: start)
        group.post("accounts/{accountId}/contacts/{contactId}/unlock", use: unlock)
        group.get("accounts/{accountId}/verifications/{verificationId}", use: get)
        group.post("accounts/{accountId}/verifications/{verificationId}/check", use: check)
        group.post("accounts/{accountId}/verifications/{verificationId}/cancel", use: cancel)
    }

    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        let contactID = context.parameters.path("contactId")
        return try await services.idempotent(
            request, context: context, accountID: account.id,
            replay: { id in
                guard let verification = try await services.store.verification(accountID: account.id, id: id) else {
                    throw ServiceError.notFound("verification")
                }
                return services.jsonReply(try await verificationJSON(verification), status: .accepted)
            }
        ) { body, idempotency in
            var body = try body.jsonObject()
            let channel = body.enumValue("channel", as: VerificationChannel.self, required: true)
            let method = body.enumValue("method", as: VerificationMethod.self) ?? .code
            let locale = body.string("locale", maxLength: 35)
            if let locale, !Locales.isValid(locale) {
                body.recordError("invalid_value", field: "locale", message: "locale must be a language tag such as en or zh-CN.")
            }
            try body.finish()
            let verification = try await services.verifications.start(
                in: account, contactID: contactID, channel: channel ?? .email, method: method, locale: locale, idempotency: idempotency)
            context.logger.debug(
                "Verification queued",
                metadata: [
                    "verification.id": .string(verification.id), "send.count": .stringConvertible(verification.sendCount),
                    "to": .string(MIMEMessage.maskedAddress(verification.address, channel: verification.channel)),
                ])
            return services.jsonReply(try await verificationJSON(verification), status: .accepted)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        guard let verification = try await services.store.verification(accountID: account.id, id: context.parameters.path("verificationId"))
        else { throw ServiceError.notFound("verification") }
        return try services.json(try await verificationJSON(verification))
    }

    @Sendable func check(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var request = request
        var body = try await request.jsonObject(context: context)
        let code = body.string("code", required: true, maxLength: 64)
        try body.finish()
        let verification = try await services.verifications.check(
            in: account, verificationID: context.parameters.path("verificationId"), code: code ?? "")
        return try services.json(try await verificationJSON(verification))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var request = request
        var body = try await request.jsonObject(context: context, allowEmpty: true)
        try body.finish()
        let verification = try await services.verifications.cancel(in: account, verificationID: context.parameters.path("verificationId"))
        return try services.json(try await verificationJSON(verification))
    }

    @Sendable func unlock(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.requireAdmin()
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var request = request
        var body = try await request.jsonObject(context: context)
        let channel = body.enumValue("channel", as: VerificationChannel.self, required: true)
        try body.finish()
        let contact = try await services.verifications.unlock(
            in: account, contactID: context.parameters.path("contactId"), channel: channel ?? .email)
        return try services.json(Representation.contact(contact, now: services.clock.now()))
    }

    /// The verification with the delivery state of its latest message.
    private func verificationJSON(_ verification: Verification) async throws -> JSONValue {
        let message = try await services.store.latestMessage(verificationID: verification.id)
        return Representation.verification(verification, message: message, policy: services.verifications.policy)
    }
}
