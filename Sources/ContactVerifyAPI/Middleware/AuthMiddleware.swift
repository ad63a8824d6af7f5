import ContactVerifyCore
import Hummingbird
import Logging

/// Resolves `Authorization: Bearer <key>` to a ``Principal``; anything else is `401`.
///
/// Keys are looked up by the SHA-256 of the presented secret, so the comparison never
/// touches the secret itself and its timing reveals nothing about stored keys.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let store: any Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count <= 512 else { throw ServiceError.unauthorized }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix("cvk_") else { throw ServiceError.unauthorized }
        guard let key = try await store.activeKey(secretHash: APIKey.hash(secret: String(parts[1]))) else {
            throw ServiceError.unauthorized
        }
        var context = context
        context.principal = Principal(keyID: key.id, accountID: key.accountID, isAdmin: key.isAdmin)
        context.logger[metadataKey: "key.id"] = .string(key.id)
        return try await next(request, context)
    }
}
