import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyStore

/// Providers' pauses shared by the instances on one database (security.md F15), the same tests
/// for SQLite and PostgreSQL.
@Suite("Stores: provider pauses")
struct StoreProviderPauseTests {
    @Test("a provider's pause is in force until its end, a shorter one does not cut it, a longer one extends it, other providers are not paused", arguments: StoreKind.allCases)
    func recordAndRead(kind: StoreKind) async throws {
        try await kind.with { store in
            let now = Fixture.now
            #expect(try await store.providerPause(provider: "twilio", now: now) == nil, "never paused")

            try await store.recordProviderPause(provider: "twilio", until: now.addingTimeInterval(30))
            #expect(try await store.providerPause(provider: "twilio", now: now) == now.addingTimeInterval(30))
            #expect(try await store.providerPause(provider: "kannel", now: now) == nil)

            try await store.recordProviderPause(provider: "twilio", until: now.addingTimeInterval(3))
            #expect(try await store.providerPause(provider: "twilio", now: now) == now.addingTimeInterval(30), "the longer pause wins")

            try await store.recordProviderPause(provider: "twilio", until: now.addingTimeInterval(45.5))
            #expect(try await store.providerPause(provider: "twilio", now: now.addingTimeInterval(40)) == now.addingTimeInterval(45.5))
            #expect(try await store.providerPause(provider: "twilio", now: now.addingTimeInterval(45.5)) == nil, "over at its end")

            // After a pause ended, a new one is recorded as asked.
            try await store.recordProviderPause(provider: "twilio", until: now.addingTimeInterval(50))
            #expect(try await store.providerPause(provider: "twilio", now: now.addingTimeInterval(46)) == now.addingTimeInterval(50))
        }
    }

    @Test("pauses recorded at once (several instances meeting one 429) leave the latest end", arguments: StoreKind.allCases)
    func concurrentRecords(kind: StoreKind) async throws {
        try await kind.with { store in
            let ends = (1...24).map { Fixture.now.addingTimeInterval(Double($0)) }.shuffled()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for end in ends {
                    group.addTask { try await store.recordProviderPause(provider: "twilio", until: end) }
                }
                try await group.waitForAll()
            }
            #expect(try await store.providerPause(provider: "twilio", now: Fixture.now) == Fixture.now.addingTimeInterval(24))
        }
    }
}
