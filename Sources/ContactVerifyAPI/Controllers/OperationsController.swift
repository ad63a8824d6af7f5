import ContactVerifyCore
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// Liveness, readiness, Prometheus metrics and the API document.
struct OperationsController {
    let services: AppServices

    func register(on router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in
            try services.json(.object(["status": "ok"]))
        }
        router.get("readyz") { _, context in
            do {
                try await services.store.ping()
                return try services.json(.object(["status": "ready"]))
            } catch {
                context.logger.warning("Store not ready", metadata: ["error.type": "\(type(of: error))"])
                return try services.json(.object(["status": "not_ready"]), status: .serviceUnavailable)
            }
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.emitToBuffer())))
        }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: services.openAPIDocument))
        }
    }
}
