import ContactVerifyCore
import Foundation
import Hummingbird
import NIOCore

/// Delivery reports from SMS gateways, at the unguessable per-message URL the worker gave them
/// (`deliveryReportURL`): Kannel's `dlr-url` (`GET …?status=%d`) and Twilio's status callback
/// (`POST` form with `MessageStatus`). A report marks the message `delivered` or
/// `undelivered`; intermediate reports change nothing. Unknown references get `404`.
struct DeliveryReportsController {
    let services: AppServices

    /// The largest report body read (Twilio's callback form is a few hundred bytes).
    static let maxBodySize = 16 * 1024

    func register(on router: Router<AppRequestContext>) {
        router.get("v1/delivery-reports/{reference}", use: report)
        router.post("v1/delivery-reports/{reference}", use: report)
    }

    @Sendable func report(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let messageID = services.reports.messageID(from: context.parameters.path("reference")) else {
            throw ServiceError.notFound("delivery report target")
        }
        var fields = request.uri.queryParameters.map { (String($0.key), String($0.value)) }
        if request.method == .post {
            var request = request
            let body = try await request.collectBody(upTo: Self.maxBodySize)
            let text = String(decoding: body.readableBytesView, as: UTF8.self)
            fields += text.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ s: Substring?) -> String { s.map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" } ?? "" }
                return (decode(parts.first), decode(parts.count > 1 ? parts[1] : nil))
            }
        }
        let outcome = Self.outcome(fields)
        if let outcome {
            try await services.store.recordDelivery(messageID: messageID, now: services.clock.now()) { message, _, _ in
                // Only a sent (or being-sent) message can be reported on; delivered is final.
                guard [.sending, .sent, .undelivered].contains(message.status) else { return }
                message.status = outcome.status
                if outcome.status == .undelivered {
                    message.lastErrorCode = outcome.code
                    message.lastErrorMessage = "The gateway reported the message as not delivered."
                }
            }
        }
        return try services.json(.object(["recorded": .bool(outcome != nil)]))
    }

    /// The final state a report states, if any: Kannel's numeric `status` (1 delivered, 2 or 16
    /// not delivered; 4 and 8 are intermediate), Vonage's word `status`, or Twilio's `MessageStatus`.
    static func outcome(_ fields: [(String, String)]) -> (status: MessageStatus, code: String)? {
        func value(_ name: String) -> String? { fields.last { $0.0 == name }?.1 }
        if let status = value("status") {
            switch Int(status) ?? -1 {
            case 1: return (.delivered, "")
            case 2, 16: return (.undelivered, "dlr_\(status)")
            case -1:
                // Vonage's delivery receipt: `status=delivered|failed|rejected|expired|…`.
                switch status {
                case "delivered": return (.delivered, "")
                case "failed", "rejected", "expired": return (.undelivered, "vonage_\(status)")
                default: return nil
                }
            default: return nil
            }
        }
        switch value("MessageStatus") {
        case "delivered", "read": return (.delivered, "")
        case "undelivered", "failed": return (.undelivered, "twilio_" + (value("ErrorCode") ?? "undelivered"))
        default: return nil
        }
    }
}
