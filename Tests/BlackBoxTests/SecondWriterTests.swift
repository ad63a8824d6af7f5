import Foundation
import Synchronization
import Testing

/// A second process writing the same SQLite file while `serve` takes requests (security.md
/// F22): the operator's CLI (`accounts put`, `keys create`) next to a running service, as
/// scripts/run suggests. Only a second process meets `SQLITE_BUSY`: inside one process every
/// write goes through the one writer connection.
@Suite("A second writer process on the SQLite file")
struct SecondWriterTests {
    /// CLI rounds (an account and a key each) run while the lanes post contacts.
    static let cliRounds = 12
    /// Contacts each of the eight lanes posts at least (they go on until the CLI is done).
    static let minimumPerLane = 25

    /// Set once the CLI loop has ended, so the lanes overlap it all.
    final class Done: Sendable {
        private let flag = Atomic<Bool>(false)
        func set() { flag.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { flag.load(ordering: .sequentiallyConsistent) }
    }

    struct Sample: Sendable {
        var status: Int
        var body: String
        var seconds: Double
    }

    @Test("the CLI writes accounts and keys while eight lanes create contacts: every request and command succeeds, no 5xx, every 201 and every CLI key reads back, p99 under 5 s")
    func cliNextToServe() async throws {
        let service = ServiceProcess()
        defer {
            service.stop()
            try? FileManager.default.removeItem(atPath: service.dataDirectory)
        }
        _ = try await service.command(["accounts", "put", "acme"])
        let admin = try await service.command(["keys", "create", "--admin"])
        let key = try await service.command(["keys", "create", "--account", "acme"])
        try await service.start()

        let cliDone = Done()
        // A child task (not detached), so that a failed command is recorded against this test.
        let cli = Task { () throws -> (keys: [String], seconds: [Double]) in
            defer { cliDone.set() }
            var keys: [String] = []
            var seconds: [Double] = []
            for i in 0..<Self.cliRounds {
                let clock = ContinuousClock()
                let start = clock.now
                _ = try await service.command(["accounts", "put", "cli-\(i)", "--display-name", "CLI \(i)"])
                keys.append(try await service.command(["keys", "create", "--account", "cli-\(i)", "--name", "round \(i)"]))
                seconds.append((clock.now - start) / .seconds(1))
            }
            return (keys, seconds)
        }
        let samples = try await withThrowingTaskGroup(of: [Sample].self) { group in
            for lane in 0..<8 {
                group.addTask {
                    var samples: [Sample] = []
                    var i = 0
                    while samples.count < Self.minimumPerLane || !cliDone.isSet {
                        let n = lane * 100_000 + i
                        i += 1
                        let clock = ContinuousClock()
                        let start = clock.now
                        let (status, body) = try await service.request(
                            "POST", "/v1/accounts/acme/contacts", key: key, body: #"{"name":"C\#(n)","email":"c\#(n)@example.com"}"#)
                        samples.append(Sample(status: status, body: body, seconds: (clock.now - start) / .seconds(1)))
                    }
                    return samples
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let (cliKeys, cliSeconds) = try await cli.value

        // No 5xx, nothing but 201.
        let failures = samples.filter { $0.status != 201 }
        #expect(failures.isEmpty, "\(failures.count) of \(samples.count): \(failures.prefix(3).map { "\($0.status) \($0.body)" })")
        // Every 201 reads back.
        let ids = samples.compactMap { sample -> String? in
            let object = (try? JSONSerialization.jsonObject(with: Data(sample.body.utf8))) as? [String: Any]
            return object?["id"] as? String
        }
        #expect(ids.count == samples.count)
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let (status, _) = try await service.request("GET", "/v1/accounts/acme/contacts/\(id)", key: key)
            #expect(status == 200, "\(id)")
        }
        // Every CLI command succeeded (ServiceProcess.command expects exit 0), and its writes
        // are what the service reads: each account exists, each key works for its account only.
        #expect(cliKeys.count == Self.cliRounds)
        for (i, cliKey) in cliKeys.enumerated() {
            #expect(cliKey.hasPrefix("cvk_"))
            let (own, body) = try await service.request("GET", "/v1/accounts/cli-\(i)", key: cliKey)
            #expect(own == 200)
            #expect(body.contains(#""displayName":"CLI \#(i)""#))
            let (other, _) = try await service.request("GET", "/v1/accounts/acme", key: cliKey)
            #expect(other == 404 || other == 403)
        }
        let (accountRead, _) = try await service.request("GET", "/v1/accounts/cli-0", key: admin)
        #expect(accountRead == 200)

        // Latency: p99 is bounded well inside the 10 s busy timeout, so no request waited out
        // the other process's lock. Inside the whole parallel suite on the 2-core machine, p99
        // was 0.56–0.87 s over six runs (the service's own request-duration histogram: all under
        // 50 ms; the rest is the loaded client). It once sat at 5 s: tests blocked Swift
        // concurrency's threads on child processes, stalling every answer in the test process
        // (see `onOwnThread`). The figures are printed for the record.
        let sorted = samples.map(\.seconds).sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        #expect(percentile(0.99) < 5, "p99 \(percentile(0.99)) s")
        print(
            "F22 second writer: \(samples.count) POST contacts over 8 lanes next to \(Self.cliRounds * 2) CLI commands"
                + String(format: "; p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms", percentile(0.5) * 1000, percentile(0.95) * 1000, percentile(0.99) * 1000, sorted.last! * 1000)
                + String(format: "; CLI round (accounts put + keys create) max %.0f ms", (cliSeconds.max() ?? 0) * 1000))
    }
}
