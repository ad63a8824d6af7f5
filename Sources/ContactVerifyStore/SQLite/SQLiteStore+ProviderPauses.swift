import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: ProviderPauseStore {
    public func recordProviderPause(provider: String, until: Date) async throws {
        try await writer.write { db in
            try db.execute(
                cached: """
                    INSERT INTO provider_pauses (provider, paused_until) VALUES (?, ?)
                    ON CONFLICT(provider) DO UPDATE SET paused_until = MAX(paused_until, excluded.paused_until)
                    """,
                arguments: [provider, until.millisecondsSince1970])
        }
    }

    public func providerPause(provider: String, now: Date) async throws -> Date? {
        try lookup { db in
            try Int64.fetchOne(
                db, cached: "SELECT paused_until FROM provider_pauses WHERE provider = ? AND paused_until > ?",
                arguments: [provider, now.millisecondsSince1970]
            ).map(Date.init(millisecondsSince1970:))
        }
    }
}
