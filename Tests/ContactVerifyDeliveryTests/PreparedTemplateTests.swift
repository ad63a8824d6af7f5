import ContactVerifyCore
import Foundation
import Mustache
import Testing

@testable import ContactVerifyDelivery

@Suite("Prepared templates")
struct PreparedTemplateTests {
    let library: TemplateLibrary

    init() throws {
        library = try TemplateLibrary(directory: TestSupport.templatesDirectory)
    }

    /// Values by ``TemplateLibrary/messageSlots`` position for `present`, varied by `seed`.
    static func values(present: [Bool], seed: Int) -> [PreparedTemplate.Value?] {
        let texts = [
            "Acme", "<img src=x onerror=alert(1)>", "A&B \"Shop\" 'x'", "", "  spaced  ", "Zoë 中文 ✓",
            "line\r\nbreak", "tok_abc?x=1&y=2", "{{accountName}}", "\u{E000}\u{E101}",
        ]
        return TemplateLibrary.messageSlots.indices.map { index -> PreparedTemplate.Value? in
            guard present[index] else { return nil }
            if TemplateLibrary.messageSlots[index].isInteger { return .integer([0, 1, 10, 59, 120, 1440][(seed + index) % 6]) }
            return .text(texts[(seed * 3 + index) % texts.count])
        }
    }

    @Test("every shipped message template is prepared for every presence of its values", arguments: ["en", "zh-CN"])
    func shippedTemplatesArePrepared(locale: String) throws {
        let forms = try #require(library.prepared[locale])
        let messageNames = TemplateName.allCases.filter { $0.messageMethod != nil }
        #expect(messageNames.count == 8)
        for name in messageNames {
            #expect(forms[name]?.count == 4, "\(locale)/\(name.rawValue)")
        }
        #expect(forms[.pageConfirm] == nil)
    }

    @Test("a prepared template renders exactly what Mustache renders", arguments: ["en", "zh-CN"])
    func sameAsMustache(locale: String) throws {
        let templates = try #require(library.templates[locale])
        let forms = try #require(library.prepared[locale])
        var compared = 0
        for (name, byPresence) in forms {
            let template = try #require(templates[name])
            for (present, prepared) in byPresence {
                for seed in 0..<12 {
                    let values = Self.values(present: present, seed: seed)
                    let expected = template.render(PreparedTemplate.context(slots: TemplateLibrary.messageSlots, values: values))
                    #expect(prepared.render(values) == expected, "\(locale)/\(name.rawValue) seed \(seed)")
                    compared += 1
                }
            }
        }
        #expect(compared == 8 * 4 * 12)
    }

    @Test("templates whose output depends on what a value holds are not prepared", arguments: [
        "{{uppercased(accountName)}} {{code}}",  // a transform
        "{{#empty(accountName)}}none{{/empty(accountName)}}{{code}}",
        "{{=<% %>=}}<%accountName%> <%code%>",  // a delimiter change
        "\u{E000}\u{E100} {{code}}",  // the placeholder characters themselves
        "{{accountName}} {{% CONTENT_TYPE: HTML}}{{code}} {{accountName}}",  // escaping switched on part-way
    ])
    func notPrepared(source: String) throws {
        let template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
        let present = [true, true, false, true, false, true, false]
        #expect(PreparedTemplate(template, slots: TemplateLibrary.messageSlots, present: present, escapesHTML: false) == nil)
    }

    @Test("an override that cannot be prepared still renders, through Mustache")
    func overrideWithTransform() throws {
        let root = try TestSupport.makeOverrideDirectory("code.sms", "{{uppercased(accountName)}}: {{code}}")
        defer { TestSupport.removeItem(root) }
        let library = try TemplateLibrary(directory: TestSupport.templatesDirectory, overrideDirectory: root)
        #expect(library.prepared["en"]?[.codeSMS]?.isEmpty == true)
        #expect(library.prepared["en"]?[.linkSMS]?.count == 4)
        let context = TemplateLibraryTests.sampleContext(account: "Acme")
        #expect(try library.sms(.code, locale: "en", context: context) == "ACME: 012345")
    }

    @Test("HTML escaping also escapes a quote or bracket that a combining mark follows")
    func escapesBeforeCombiningMarks() throws {
        let quote = "\"" + "\u{301}"  // one Character: a quote and a combining acute accent
        let bracket = "<" + "\u{301}"
        let context = TemplateLibraryTests.sampleContext(name: "x" + quote + " onmouseover=alert(1) " + bracket + "b>")
        let escaped = "x&quot;\u{301} onmouseover=alert(1) &lt;\u{301}b&gt;"
        for locale in ["en", "zh-CN"] {
            let html = try library.email(.link, locale: locale, context: context).html
            #expect(html.contains(escaped))
            #expect(!html.contains(quote))
        }
    }
}
