import ContactVerifyCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A JSON response as bytes, so that an idempotent request can store and replay it.
struct JSONReply: Sendable {
    var status: HTTPResponse.Status
    var bytes: [UInt8]

    var response: Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// A request body read once: hashed for `Idempotency-Key`, then parsed.
struct CollectedBody: Sendable {
    let buffer: ByteBuffer

    /// The body as one strict JSON object.
    func jsonObject() throws(ServiceError) -> JSONObjectReader {
        try buffer.withUnsafeReadableBytes { bytes throws(ServiceError) in
            try JSONObjectReader.parseObject(bytes)
        }
    }
}

extension AppServices {
    /// The longest `Idempotency-Key` accepted.
    static let maxIdempotencyKeyLength = 255

    /// Runs a create request under its optional `Idempotency-Key` (design §3): the same key and
    /// body within 24 hours replays the stored response; a different body is `422
    /// idempotency_key_reused`; the same key still in flight is `409 idempotency_key_in_use`.
    /// Only successful responses are stored; after an error the key may be used again.
    ///
    /// `handler` passes the ``IdempotencyMark`` (`nil` without a key) to the write that creates
    /// its resource, which records the resource's id on the claim in its own transaction. The
    /// response is stored afterwards; if the process dies in between, a retry gets
    /// `replay(resourceID)`, the resource's current representation with the original status,
    /// which is then stored for later retries. A claim whose request died before its commit
    /// answers `409` until ``ServiceConfiguration/idempotencyInFlightTimeout``, then the request
    /// runs again.
    func idempotent(
        _ request: Request, context: AppRequestContext, accountID: String,
        replay: (String) async throws -> JSONReply,
        _ handler: (CollectedBody, IdempotencyMark?) async throws -> JSONReply
    ) async throws -> Response {
        var request = request
        let body = CollectedBody(buffer: try await request.collectJSONBody(context: context))
        guard let key = try idempotencyKey(request) else { return try await handler(body, nil).response }
        let fingerprint = body.buffer.withUnsafeReadableBytes {
            Idempotency.fingerprint(method: request.method.rawValue, path: request.uri.path, body: $0)
        }
        let now = clock.now()
        let claim = try await store.claimIdempotencyKey(
            accountID: accountID, key: key, fingerprint: fingerprint, now: now,
            staleAfter: configuration.idempotencyInFlightTimeout, retention: Idempotency.retention)
        let reply: JSONReply
        switch claim {
        case .replay(let status, let bytes):
            return Self.replayed(JSONReply(status: .init(code: status), bytes: bytes))
        case .committed(let resourceID):
            reply = try await replay(resourceID)
            await storeResponse(reply, accountID: accountID, key: key, context: context)
            return Self.replayed(reply)
        case .mismatch:
            throw ServiceError(
                .unprocessable, code: "idempotency_key_reused",
                detail: "This Idempotency-Key was used with a different request.",
                errors: [FieldError(field: "Idempotency-Key", code: "idempotency_key_reused", message: "The key was used with a different request.")])
        case .inFlight:
            throw Idempotency.claimLost
        case .proceed:
            break
        }
        let mark = IdempotencyMark(accountID: accountID, key: key, claimedAt: now)
        do {
            reply = try await handler(body, mark)
        } catch {
            try? await store.releaseIdempotencyKey(mark)
            throw error
        }
        await storeResponse(reply, accountID: accountID, key: key, context: context)
        return reply.response
    }

    /// Stores `reply` for later retries of `key`. The request's own work has committed by now
    /// (with its resource's id on the claim), so a failure here (a full disk, say) must not turn
    /// its success into an error: the caller gets the reply, and a retry is answered from the
    /// resource as after a crash.
    private func storeResponse(_ reply: JSONReply, accountID: String, key: String, context: AppRequestContext) async {
        do {
            try await store.completeIdempotencyKey(
                accountID: accountID, key: key, status: Int(reply.status.code), body: reply.bytes, now: clock.now())
        } catch {
            context.logger.warning(
                "Idempotent response not stored; a retry is answered from its resource",
                metadata: ["error.type": "\(type(of: error))"])
        }
    }

    /// A stored or rebuilt response, marked as a replay.
    private static func replayed(_ reply: JSONReply) -> Response {
        var response = reply.response
        response.headers[.idempotentReplayed] = "true"
        return response
    }

    /// The `Idempotency-Key` header: 1–255 visible ASCII characters, at most once.
    private func idempotencyKey(_ request: Request) throws(ServiceError) -> String? {
        let values = request.headers[values: .idempotencyKey]
        guard let key = values.first else { return nil }
        guard values.count == 1, !key.isEmpty, key.utf8.count <= Self.maxIdempotencyKeyLength,
            key.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else {
            throw ServiceError.invalid(
                "Idempotency-Key", code: "invalid_value", "Idempotency-Key must be one value of 1 to 255 visible ASCII characters.")
        }
        return key
    }

    /// A JSON reply.
    func jsonReply(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> JSONReply {
        JSONReply(status: status, bytes: JSONWriter.serialize(value))
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
