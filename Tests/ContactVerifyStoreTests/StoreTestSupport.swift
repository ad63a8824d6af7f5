import ContactVerifyCore
import Foundation
import Logging
import TestServers
import Testing

@testable import ContactVerifyStore

/// A fresh SQLite database file in a temporary folder of its own, removed when the test ends.
struct TemporaryDatabase {
    /// The folder holding the database, its WAL and its shared-memory file.
    let directory: String

    /// The database file, named as the service names it.
    var path: String { directory + "/contact-verify.sqlite" }

    /// Runs `body` with a new temporary database, then deletes its folder.
    static func with<T>(_ body: (TemporaryDatabase) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cv-store-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(TemporaryDatabase(directory: directory))
    }

    /// Opens (and migrates) the store, as the service does at start-up.
    func open() throws -> SQLiteStore { try SQLiteStore(path: path) }
}

/// Values the store tests build on.
enum Fixture {
    /// A fixed instant, whole milliseconds (the store's resolution).
    static let now = Date(millisecondsSince1970: 1_795_000_000_000)

    static func account(_ id: String) -> Account {
        Account(id: id, displayName: id, createdAt: now, updatedAt: now)
    }

    /// A contact whose addresses went through the real normalizers, so `key` is the
    /// uniqueness key the service would store.
    static func contact(
        _ accountID: String, name: String = "Ann", email: String? = nil, phone: String? = nil, id: String = Contact.makeID()
    ) throws -> Contact {
        Contact(
            id: id, accountID: accountID, name: name,
            email: try email.map { ContactAddress(try EmailNormalizer().normalize($0)) },
            phone: try phone.map { ContactAddress(try PhoneNumberNormalizer().normalize($0, defaultRegion: nil)) },
            createdAt: now, updatedAt: now)
    }

    /// A verification's change on approval, as the service makes it: approved now, its address verified.
    @Sendable static func approve(_ v: inout Verification, _ contact: inout Contact?) {
        v.status = .approved
        v.approvedAt = now
        contact?[v.channel.addressChannel]?.status = .verified
        contact?[v.channel.addressChannel]?.verifiedAt = now
    }
}

/// The two stores the behavioural suites run against, unchanged.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// Runs `body` with a new, empty store of this kind, then closes and removes it.
    func with<T>(_ body: (any ServiceStore) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            return try await TemporaryDatabase.with { database in try await body(try database.open()) }
        case .postgres:
            let store = try await PostgresStore(try await PostgresServer.makeConfiguration(), logger: Logger(label: "test"))
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        }
    }
}

extension PostgresServer {
    /// A store configuration for a new, empty database (a small pool: many tests run at once).
    static func makeConfiguration() async throws -> PostgresStoreConfiguration {
        var configuration = try PostgresStoreConfiguration(url: try await makeDatabaseURL() + "?sslmode=disable")
        configuration.poolSize = 6
        return configuration
    }
}
