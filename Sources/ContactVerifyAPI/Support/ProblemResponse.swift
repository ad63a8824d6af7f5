import ContactVerifyCore
import ContactVerifyStore
import Hummingbird
import Logging
import NIOCore

/// RFC 9457 problem documents: the only place errors become HTTP.
enum ProblemResponse {
    static func status(of kind: ServiceError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .gone: .gone
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .unprocessable: .unprocessableContent
        case .tooManyRequests: .tooManyRequests
        case .unavailable: .serviceUnavailable
        }
    }

    /// The problem+json answer for `error`, with its kind's status unless `status` is given.
    static func make(_ error: ServiceError, status: HTTPResponse.Status? = nil) -> Response {
        let status = status ?? Self.status(of: error.kind)
        var object: JSONObject = [
            "type": .string("urn:contact-verify:problem:\(error.code)"),
            "title": .string(status.reasonPhrase),
            "status": .int(status.code),
            "detail": .string(error.detail),
            "code": .string(error.code),
            "errors": .array(error.errors.map { .object(["field": .string($0.field), "code": .string($0.code), "message": .string($0.message)]) }),
        ]
        for (key, value) in error.extra.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .string(let s): _ = object.insert(.string(s), forKey: key)
            case .int(let i): _ = object.insert(.int(i), forKey: key)
            }
        }
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if let retryAfter = error.retryAfter {
            _ = object.insert(.int(retryAfter), forKey: "retryAfter")
            headers[.retryAfter] = String(retryAfter)
        }
        if error.kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(
            status: status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.serialize(.object(object)))))
    }
}

/// Turns every error thrown below it into a problem+json response. Hummingbird's own
/// `HTTPError`s (unknown route, body too large) are mapped to stable codes, and a store that
/// cannot take a write (``StorageFault``: disk full, locked past the busy timeout, I/O
/// errors) to 503 with `Retry-After`; anything else is a bug: logged, and answered with a
/// generic 500 that reveals nothing.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServiceError {
            return ProblemResponse.make(error)
        } catch let error as HTTPError {
            return ProblemResponse.make(Self.map(error))
        } catch is NIOTooManyBytesError {
            return ProblemResponse.make(Self.map(HTTPError(.contentTooLarge)))
        } catch {
            if let fault = StorageFault(error) {
                // The store could not take the write (full, locked, failing): 503, not a bug.
                context.logger.warning(
                    "Storage fault", metadata: ["error.code": .string(fault.kind.rawValue), "storage.cause": .string(fault.cause)])
                return ProblemResponse.make(fault.serviceError)
            }
            context.logger.error("Unhandled error", metadata: ["error.type": "\(type(of: error))"])
            return ProblemResponse.make(
                ServiceError(.unavailable, code: "internal_error", detail: "The request failed."), status: .internalServerError)
        }
    }

    static func map(_ error: HTTPError) -> ServiceError {
        switch error.status {
        case .notFound: ServiceError.notFound()
        case .contentTooLarge:
            ServiceError(
                .payloadTooLarge, code: "body_too_large", detail: "The request body exceeds 1 MiB.",
                errors: [FieldError(field: "body", code: "too_large", message: "The body exceeds 1 MiB.")])
        case .methodNotAllowed:
            ServiceError(.badRequest, code: "method_not_allowed", detail: "The method is not allowed on this path.")
        case .unauthorized: ServiceError.unauthorized
        default: ServiceError(.badRequest, code: "bad_request", detail: "The request is malformed.")
        }
    }
}
