import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: WebhookSendStore {
    public func reserveWebhookSend(robotKey: [UInt8], limit: Int, window: TimeInterval, now: Date) async throws -> Date? {
        let nowMS = now.millisecondsSince1970
        let since = nowMS - Int64(window * 1000)
        return try await writer.write { db in
            try db.execute(cached: "DELETE FROM webhook_sends WHERE sent_at <= ?", arguments: [since])
            let row = try SQLiteRow.fetchOne(
                db, cached: "SELECT COUNT(*) AS sends, MIN(sent_at) AS oldest FROM webhook_sends WHERE url_key = ? AND sent_at > ?",
                arguments: [Data(robotKey), since])
            if let row, (row.int("sends") ?? 0) >= limit, let oldest = row.integer("oldest") {
                return Date(millisecondsSince1970: oldest + Int64(window * 1000))
            }
            try db.execute(cached: "INSERT INTO webhook_sends (url_key, sent_at) VALUES (?, ?)", arguments: [Data(robotKey), nowMS])
            return nil
        }
    }
}
