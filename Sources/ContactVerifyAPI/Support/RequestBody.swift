import ContactVerifyCore
import Hummingbird
import NIOCore

extension Request {
    /// Reads the body (≤ 1 MiB) and parses it as one strict JSON object.
    ///
    /// A declared non-JSON content type is `415`; a body over the limit `413`; anything that
    /// is not exactly one well-formed JSON object `400` naming the problem.
    mutating func jsonObject(context: AppRequestContext, allowEmpty: Bool = false) async throws -> JSONObjectReader {
        let buffer = try await collectJSONBody(context: context)
        if allowEmpty && buffer.readableBytes == 0 {
            return JSONObjectReader(.object(JSONObject()), path: "")
        }
        return try CollectedBody(buffer: buffer).jsonObject()
    }

    /// Reads the body (≤ 1 MiB) after checking that its declared content type is JSON.
    mutating func collectJSONBody(context: AppRequestContext) async throws -> ByteBuffer {
        if let type = headers[.contentType]?.lowercased(), !type.hasPrefix("application/json"), !(type.hasPrefix("application/") && type.contains("+json")) {
            throw ServiceError(
                .unsupportedMediaType, code: "unsupported_media_type", detail: "Send the body as application/json.",
                errors: [FieldError(field: "Content-Type", code: "unsupported", message: "The body must be application/json.")])
        }
        return try await collectBody(upTo: AppRequestContext.maxBodySize)
    }
}

extension Parameters {
    /// A path parameter that the route guarantees.
    func path(_ name: String) -> String {
        get(name) ?? ""
    }
}
