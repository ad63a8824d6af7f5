import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import Testing

/// security.md F24 (poison message: a template render error), render part. The service checks
/// every template when it starts, so a broken or missing template stops the start instead of
/// failing messages later: no message can meet a template error after start-up.
@Suite("Poison templates (F24)")
struct PoisonTemplateTests {
    /// A resources folder like the repository's (openapi.yaml and templates/), with `change`
    /// applied to its copy of the templates.
    static func resources(_ change: (String) throws -> Void) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cv-resources-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestApp.packageRoot + "/openapi.yaml", toPath: folder + "/openapi.yaml")
        try FileManager.default.copyItem(atPath: TestApp.packageRoot + "/templates", toPath: folder + "/templates")
        try change(folder + "/templates")
        return folder
    }

    @Test("a template that is not valid Mustache stops the service at start-up, naming the file")
    func brokenTemplate() async throws {
        let folder = try Self.resources { templates in
            try "您的验证码是 {{#code}}{{code}}".write(toFile: templates + "/zh-CN/code.email.txt.mustache", atomically: true, encoding: .utf8)
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        await Self.expectStartRefused(resources: folder) { error in
            guard case .parse(let path, _) = error else { return false }
            return path.hasSuffix("zh-CN/code.email.txt.mustache")
        }
    }

    @Test("a locale missing a template stops the service at start-up, naming the template")
    func missingTemplate() async throws {
        let folder = try Self.resources { templates in
            try FileManager.default.removeItem(atPath: templates + "/zh-CN/code.sms.mustache")
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        await Self.expectStartRefused(resources: folder) { error in
            error == .missingTemplate(locale: "zh-CN", name: "code.sms")
        }
    }

    @Test("the same copied folder without the fault starts and delivers (the fault, not the copy, stops the start)")
    func intactCopyStarts() async throws {
        let folder = try Self.resources { _ in }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let app = try await TestApp.make { $0.resourcesDirectory = folder }
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme")
            let contact = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
            #expect(try await client.startVerification("acme", contact: contact).status == .accepted)
            try await app.deliver()
            #expect(try app.outbox.emails().count == 1)
        }
    }

    /// Expects building the service on `resources` to throw a ``TemplateError`` that `matches`.
    static func expectStartRefused(resources: String, _ matches: (TemplateError) -> Bool) async {
        do {
            let app = try await TestApp.make { $0.resourcesDirectory = resources }
            app.remove()
            Issue.record("the service started with a broken template folder")
        } catch let error as TemplateError {
            #expect(matches(error), "\(error)")
        } catch {
            Issue.record("not a template error: \(error)")
        }
    }
}
