/// An error the service reports to its caller.
///
/// Core and the stores throw `ServiceError`s; only the API edge turns them into
/// RFC 9457 problem+json responses (the `kind` picks the HTTP status there). Any other
/// error reaching the edge is a bug and becomes a 500 without details.
///
/// ```swift
/// throw ServiceError.conflict("email_taken", "The email address belongs to another contact.",
///                             extra: ["conflictingContactId": .string(id)])
/// ```
public struct ServiceError: Error, Sendable, Equatable {
    /// What class of failure this is; the API maps each kind to one HTTP status.
    public enum Kind: String, Sendable, Equatable {
        case badRequest            // 400
        case unauthorized          // 401
        case forbidden             // 403
        case notFound              // 404
        case conflict              // 409
        case gone                  // 410
        case payloadTooLarge       // 413
        case unsupportedMediaType  // 415
        case unprocessable         // 422
        case tooManyRequests       // 429
        case unavailable           // 503
    }

    /// A value for an extension member of the problem document (`conflictingContactId`, …).
    public enum ExtraValue: Sendable, Equatable {
        case string(String)
        case int(Int)
    }

    public var kind: Kind
    /// Stable machine code (`email_taken`, `code_mismatch`, `validation_failed`, …).
    public var code: String
    /// Human-readable explanation specific to this occurrence.
    public var detail: String
    /// Per-field problems, for validation failures.
    public var errors: [FieldError]
    /// Extension members added to the problem document.
    public var extra: [String: ExtraValue]
    /// Seconds the caller should wait before retrying (`Retry-After`), for 429 and 503.
    public var retryAfter: Int?

    public init(
        _ kind: Kind, code: String, detail: String, errors: [FieldError] = [],
        extra: [String: ExtraValue] = [:], retryAfter: Int? = nil
    ) {
        self.kind = kind
        self.code = code
        self.detail = detail
        self.errors = errors
        self.extra = extra
        self.retryAfter = retryAfter
    }

    // MARK: Common errors

    /// The request body or parameters failed validation; `errors` names each field.
    public static func validation(_ errors: [FieldError]) -> ServiceError {
        let detail = errors.count == 1 ? errors[0].message : "\(errors.count) fields are invalid."
        return ServiceError(.badRequest, code: "validation_failed", detail: detail, errors: errors)
    }

    /// One invalid field.
    public static func invalid(_ field: String, code: String, _ message: String) -> ServiceError {
        .validation([FieldError(field: field, code: code, message: message)])
    }

    /// The resource does not exist, or belongs to another account (the two are indistinguishable).
    public static func notFound(_ what: String = "resource") -> ServiceError {
        ServiceError(.notFound, code: "not_found", detail: "The \(what) does not exist.")
    }
}
