import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("SMS through a real Kannel", .serialized)
struct KannelDeliveryTests {
    /// GETs a URL; returns status and body.
    static func get(_ url: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test("the harness: Kannel accepts a sendsms request and the fake SMSC receives it")
    func harness() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        let (status, body) = try await Self.get(
            kannel.sendsmsURL + "?username=\(KannelServer.username)&password=\(KannelServer.password)&to=%2B8613800138000&text=hello+there")
        #expect(status == 202)
        #expect(body.contains("Accepted for delivery"))
        try await waitFor(kannel.received().contains { $0.to == "+8613800138000" && $0.text.contains("hello") }, "the fake SMSC to receive")
    }
}
