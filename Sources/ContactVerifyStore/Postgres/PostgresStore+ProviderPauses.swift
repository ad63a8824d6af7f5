import ContactVerifyCore
import Foundation
import PostgresNIO

extension PostgresStore: ProviderPauseStore {
    public func recordProviderPause(provider: String, until: Date) async throws {
        // One statement: instances recording at once end with the latest end (the row lock of
        // the conflicting insert serializes them).
        _ = try await rows("""
            INSERT INTO provider_pauses (provider, paused_until) VALUES (\(provider), \(until.millisecondsSince1970))
            ON CONFLICT (provider) DO UPDATE SET paused_until = GREATEST(provider_pauses.paused_until, excluded.paused_until)
            """)
    }

    public func providerPause(provider: String, now: Date) async throws -> Date? {
        try await rows(
            "SELECT paused_until FROM provider_pauses WHERE provider = \(provider) AND paused_until > \(now.millisecondsSince1970)"
        ).first?.integer("paused_until").map(Date.init(millisecondsSince1970:))
    }
}
