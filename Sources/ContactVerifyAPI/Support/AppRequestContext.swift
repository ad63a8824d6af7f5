import ContactVerifyCore
import Hummingbird
import Logging

/// Who is calling: resolved from the bearer key by ``AuthMiddleware``.
struct Principal: Sendable {
    var keyID: String
    var accountID: String?
    var isAdmin: Bool
}

/// The request context of every route: Hummingbird's core storage plus the caller.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` on authenticated routes.
    var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
    }

    /// The largest request body the service reads (design §3: 1 MiB).
    static let maxBodySize = 1 << 20

    /// Fails unless the caller is an admin.
    func requireAdmin() throws(ServiceError) {
        guard let principal else { throw .unauthorized }
        guard principal.isAdmin else {
            throw ServiceError(.forbidden, code: "forbidden", detail: "This operation needs an admin key.")
        }
    }

    /// Fails unless the caller may act on `accountID`. A key of another account gets the same
    /// `404` as an account that does not exist, so keys learn nothing about other tenants.
    func requireAccess(to accountID: String) throws(ServiceError) {
        guard let principal else { throw .unauthorized }
        if principal.isAdmin || principal.accountID == accountID { return }
        throw ServiceError.notFound("account")
    }
}

extension ServiceError {
    /// The bearer key is missing, malformed, unknown or revoked.
    static let unauthorized = ServiceError(
        .unauthorized, code: "unauthorized", detail: "A valid API key is required in the Authorization header.")
}
