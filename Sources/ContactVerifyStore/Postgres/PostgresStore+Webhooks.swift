import ContactVerifyCore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore: WebhookSendStore {
    public func reserveWebhookSend(robotKey: [UInt8], limit: Int, window: TimeInterval, now: Date) async throws -> Date? {
        let nowMS = now.millisecondsSince1970
        let since = nowMS - Int64(window * 1000)
        let key = ByteBuffer(bytes: robotKey)
        return try await transaction { connection in
            // Instances reserving for one robot take turns, so the count they read is exact.
            try await connection.run("SELECT pg_advisory_xact_lock(hashtext(encode(\(key), 'hex')))", logger)
            try await connection.run("DELETE FROM webhook_sends WHERE sent_at <= \(since)", logger)
            let row = try await connection.row(
                "SELECT COUNT(*) AS sends, MIN(sent_at) AS oldest FROM webhook_sends WHERE url_key = \(key) AND sent_at > \(since)", logger)
            if let row, (row.integer("sends") ?? 0) >= Int64(limit), let oldest = row.integer("oldest") {
                return Date(millisecondsSince1970: oldest + Int64(window * 1000))
            }
            try await connection.run("INSERT INTO webhook_sends (url_key, sent_at) VALUES (\(key), \(nowMS))", logger)
            return nil
        }
    }
}
