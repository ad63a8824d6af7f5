import Hummingbird
import Logging

/// Logs each request at debug level (normal traffic logs nothing at info) with its route pattern (never the concrete path, which
/// may carry a link token) and status; the request id comes from Hummingbird's logger.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        context.logger.debug(
            "Request",
            metadata: [
                "http.method": .string(request.method.rawValue),
                "http.route": .string(context.endpointPath ?? "unmatched"),
                "http.status": .stringConvertible(response.status.code),
            ])
        return response
    }
}
