import ContactVerifyCore
import ContactVerifyDelivery
import Hummingbird
import Logging
import Metrics
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
            } catch {
                context.logger.warning("Store not ready", metadata: ["error.type": "\(type(of: error))"])
                return try services.json(.object(["status": "not_ready", "reason": "store"]), status: .serviceUnavailable)
            }
            if let worker = services.runningWorker, !worker.isLive() {
                return try services.json(.object(["status": "not_ready", "reason": "worker"]), status: .serviceUnavailable)
            }
            return try services.json(.object(["status": "ready"]))
        }
        router.get("metrics") { _, _ in
            let load = services.verifications.hashingLoad
            Gauge(label: "hashing_jobs_running", factory: services.metricsFactory).record(load.running)
            Gauge(label: "hashing_jobs_waiting", factory: services.metricsFactory).record(load.waiting)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.emitToBuffer())))
        }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: services.openAPIDocument))
        }
    }
}
