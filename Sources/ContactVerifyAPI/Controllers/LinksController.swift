import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The public side of link verification: the confirmation page (`GET`/`HEAD` change nothing,
/// because mail scanners prefetch links), its form post, and the JSON confirm for front ends
/// that host their own page. Every unknown, expired, used or malformed token gets the same
/// answer, so a token's fate is not observable.
struct LinksController {
    let services: AppServices

    /// The largest confirmation form read: it holds one short nonce.
    static let maxFormSize = 4096

    /// The "invalid link" answer leaves no sooner than this after the handler started. The
    /// classes behind that one answer take different paths (a malformed token needs no lookup,
    /// an unknown one misses the index, an expired or superseded one reads and decodes its
    /// row): measured with the release build, 321, 479, 500 and 507 µs medians, differences
    /// that 1,000 samples tell apart (scripts/timing). Waiting out a floor well above all of
    /// them gives every class the same time; a person clicking a dead link does not notice 5 ms.
    static let invalidAnswerFloor: Duration = .milliseconds(5)

    func register(on router: Router<AppRequestContext>) {
        router.get("verify/{token}", use: page)
        router.head("verify/{token}", use: page)
        router.post("verify/{token}", use: submit)
        router.post("v1/links/{token}/confirm", use: confirmJSON)
    }

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let token = context.parameters.path("token")
        let verification = try await services.verifications.verification(forToken: token)
        switch try await services.verifications.linkState(verification) {
        case .confirmed:
            return try await confirmPage(token: token, verification: verification!)
        case .alreadyVerified:
            return try await html(.alreadyVerified, verification: verification)
        case .invalid:
            return try await invalidPage(since: started)
        }
    }

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let token = context.parameters.path("token")
        var request = request
        let nonce = try await formNonce(&request)
        guard let verification = try await services.verifications.verification(forToken: token) else {
            return try await invalidPage(since: started)
        }
        guard services.links.isValid(nonce, token: token, now: services.clock.now()) else {
            // Not a form this service rendered for this link (or a stale one): ask again.
            switch try await services.verifications.linkState(verification) {
            case .confirmed: return try await confirmPage(token: token, verification: verification)
            case .alreadyVerified: return try await html(.alreadyVerified, verification: verification)
            case .invalid: return try await invalidPage(since: started)
            }
        }
        switch try await services.verifications.confirm(token: token).0 {
        case .confirmed: return try await html(.confirmed, verification: verification)
        case .alreadyVerified: return try await html(.alreadyVerified, verification: verification)
        case .invalid: return try await invalidPage(since: started)
        }
    }

    @Sendable func confirmJSON(_ request: Request, context: AppRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var request = request
        var body = try await request.jsonObject(context: context, allowEmpty: true)
        try body.finish()
        let (outcome, verification) = try await services.verifications.confirm(token: context.parameters.path("token"))
        guard let verification, outcome != .invalid else {
            await Self.waitOutInvalidFloor(since: started)
            throw ServiceError(.notFound, code: "link_invalid", detail: "The link is invalid, expired or already used.")
        }
        return try services.json(
            .object([
                "status": .string(outcome == .confirmed ? "verified" : "already_verified"),
                "channel": .string(verification.channel.rawValue),
                "contactId": .string(verification.contactID),
            ]))
    }

    // MARK: Pages

    /// The generic "invalid link" page, sent no sooner than ``invalidAnswerFloor``.
    private func invalidPage(since started: ContinuousClock.Instant) async throws -> Response {
        let page = try await html(.invalid, verification: nil, status: .notFound)
        await Self.waitOutInvalidFloor(since: started)
        return page
    }

    /// Sleeps until ``invalidAnswerFloor`` has passed since `started` (no sleep if it has).
    private static func waitOutInvalidFloor(since started: ContinuousClock.Instant) async {
        try? await Task.sleep(until: started + invalidAnswerFloor, clock: .continuous)
    }

    private func confirmPage(token: String, verification: Verification) async throws -> Response {
        try await html(
            .confirm, verification: verification, formAction: "/verify/\(token)",
            nonce: services.links.issue(token: token, now: services.clock.now()))
    }

    private func html(
        _ page: LinkPage, verification: Verification?, status: HTTPResponse.Status = .ok, formAction: String? = nil,
        nonce: String? = nil
    ) async throws -> Response {
        var context = PageContext(formAction: formAction, nonce: nonce)
        if let verification {
            context.accountName = try await services.store.account(id: verification.accountID)?.displayName
            context.maskedAddress = MIMEMessage.maskedAddress(verification.address, channel: verification.channel)
            context.channel = verification.channel
        }
        let body = try services.templates.page(page, locale: verification?.locale ?? TemplateLibrary.defaultLocale, context: context)
        return Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Headers of every link page: never cached (the token is in the URL), never framed, no
    /// referrer (the token must not leak to other sites), nothing loaded from anywhere.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .referrerPolicy: "no-referrer",
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .xFrameOptions: "DENY",
    ]

    // MARK: The form

    /// The `nonce` of an `application/x-www-form-urlencoded` body with exactly that one field.
    private func formNonce(_ request: inout Request) async throws -> String {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw ServiceError(
                .unsupportedMediaType, code: "unsupported_media_type", detail: "Send the form as application/x-www-form-urlencoded.",
                errors: [FieldError(field: "Content-Type", code: "unsupported", message: "The body must be a URL-encoded form.")])
        }
        let buffer = try await request.collectBody(upTo: Self.maxFormSize)
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        var nonce: String?
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.formDecode(parts[0])
            guard name == "nonce" else {
                throw ServiceError.invalid(name ?? "form", code: "unknown_field", "The form has only the field nonce.")
            }
            guard nonce == nil, parts.count == 2, let value = Self.formDecode(parts[1]), value.utf8.count <= 256 else {
                throw ServiceError.invalid("nonce", code: "invalid_value", "The form needs one nonce of at most 256 characters.")
            }
            nonce = value
        }
        guard let nonce else { throw ServiceError.invalid("nonce", code: "required", "The form needs the nonce field.") }
        return nonce
    }

    private static func formDecode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
}
