import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyDelivery

@Suite("Template library")
struct TemplateLibraryTests {
    static let hostileName = "<img src=x onerror=alert(1)>"

    let library: TemplateLibrary

    init() throws {
        library = try TemplateLibrary(directory: TestSupport.templatesDirectory)
    }

    static func sampleContext(name: String = "Ann Lee", account: String = "Acme") -> MessageContext {
        MessageContext(
            accountName: account, contactName: name, code: "012345",
            link: "https://verify.example.com/verify/tok_abc?x=1&y=2", expiresInMinutes: 10,
            maskedAddress: "a***@example.com")
    }

    static func samplePage(account: String? = "Acme") -> PageContext {
        PageContext(
            accountName: account, maskedAddress: "+86 138****8000", formAction: "/verify/tok_abc",
            nonce: "n0nce-123", channel: .sms)
    }

    @Test("ships en and zh-CN")
    func shippedLocales() {
        #expect(library.locales == ["en", "zh-CN"])
        #expect(TemplateLibrary.requiredTemplateNames.count == 12)
    }

    @Test("every email and SMS renders in both locales with its code or link and no tags left", arguments: ["en", "zh-CN"])
    func messagesRender(locale: String) throws {
        let context = Self.sampleContext()
        for method in [VerificationMethod.code, .link] {
            let email = try library.email(method, locale: locale, context: context)
            let sms = try library.sms(method, locale: locale, context: context)
            for output in [email.subject, email.text, email.html, sms] {
                #expect(!output.isEmpty)
                #expect(!output.contains("{{") && !output.contains("}}"))
            }
            #expect(!email.subject.contains("\n") && !email.subject.contains("\r"))
            #expect(email.subject.contains("Acme"))
            #expect(sms.contains("Acme"))
            #expect(email.text.contains("a***@example.com"))
            #expect(email.html.contains("a***@example.com"))
            #expect(email.text.contains("Ann Lee"))
            #expect(email.html.contains("<html lang=\"\(locale)\">"))
            switch method {
            case .code:
                for output in [email.text, email.html, sms] { #expect(output.contains("012345")) }
                #expect(sms.contains("10"))
            case .link:
                // Plain text keeps the URL as it is; HTML escapes `&` inside the attribute and text.
                #expect(email.text.contains("https://verify.example.com/verify/tok_abc?x=1&y=2"))
                #expect(sms.contains("https://verify.example.com/verify/tok_abc?x=1&y=2"))
                #expect(email.html.contains("href=\"https://verify.example.com/verify/tok_abc?x=1&amp;y=2\""))
            }
        }
    }

    @Test("the Chinese copy is Chinese and the SMS carries the 【account】 signature")
    func chineseCopy() throws {
        let context = Self.sampleContext()
        let sms = try library.sms(.code, locale: "zh-CN", context: context)
        #expect(sms == "【Acme】您的验证码为 012345，10 分钟内有效。请勿泄露给他人。")
        let email = try library.email(.code, locale: "zh-CN", context: context)
        #expect(email.subject == "您的Acme验证码")
        #expect(email.text.hasPrefix("Ann Lee，您好："))
        let english = try library.sms(.code, locale: "en", context: context)
        #expect(english == "[Acme] Your verification code is 012345. It expires in 10 minutes. Do not share it.")
    }

    @Test("a link lifetime of whole hours reads in hours, otherwise in minutes")
    func linkLifetime() throws {
        var context = Self.sampleContext()
        context.expiresInMinutes = 24 * 60
        #expect(try library.sms(.link, locale: "en", context: context).contains("expires in 24 hours"))
        #expect(try library.email(.link, locale: "zh-CN", context: context).text.contains("链接 24 小时内有效"))
        context.expiresInMinutes = 90
        #expect(try library.email(.link, locale: "en", context: context).html.contains("expires in 90 minutes"))
    }

    @Test("a contact without a name is greeted without one")
    func noName() throws {
        let email = try library.email(.code, locale: "en", context: Self.sampleContext(name: "  "))
        #expect(email.text.hasPrefix("Hello,\n"))
        let chinese = try library.email(.code, locale: "zh-CN", context: Self.sampleContext(name: ""))
        #expect(chinese.text.hasPrefix("您好："))
    }

    @Test("every page renders in both locales", arguments: ["en", "zh-CN"])
    func pagesRender(locale: String) throws {
        for page in LinkPage.allCases {
            let html = try library.page(page, locale: locale, context: Self.samplePage())
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.contains("<html lang=\"\(locale)\">"))
            #expect(html.contains("<meta name=\"viewport\""))
            #expect(!html.contains("{{") && !html.contains("}}"))
            #expect(!html.lowercased().contains("<script"))
            #expect(!html.lowercased().contains("javascript:"))
            #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil)
            #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("//"))
            #expect(!html.contains("src=") && !html.contains("<link") && !html.contains("url(") && !html.contains("@import"))
            if page != .invalid { #expect(html.contains("+86 138****8000")) }
        }
    }

    @Test("the confirmation page has a POST form with the nonce and a submit button, and no script")
    func confirmForm() throws {
        for locale in ["en", "zh-CN"] {
            let html = try library.page(.confirm, locale: locale, context: Self.samplePage())
            #expect(html.contains("<form method=\"post\" action=\"/verify/tok_abc\">"))
            #expect(html.contains("<input type=\"hidden\" name=\"nonce\" value=\"n0nce-123\">"))
            #expect(html.contains("<button type=\"submit\">"))
            #expect(html.contains("Acme"))
            #expect(html.contains("<meta name=\"referrer\" content=\"no-referrer\">"))
        }
        let email = try library.page(
            .confirm, locale: "en", context: PageContext(maskedAddress: "a***@example.com", formAction: "/v", nonce: "n", channel: .email))
        #expect(email.contains("Confirm your email address"))
        let phone = try library.page(.confirm, locale: "zh-CN", context: Self.samplePage())
        #expect(phone.contains("确认您的手机号码"))
    }

    @Test("the invalid page is the same whatever the context")
    func invalidPageIsGeneric() throws {
        for locale in ["en", "zh-CN"] {
            let empty = try library.page(.invalid, locale: locale, context: PageContext())
            let full = try library.page(.invalid, locale: locale, context: Self.samplePage())
            #expect(empty == full)
        }
    }

    @Test("a hostile contact or account name is escaped in HTML emails and pages")
    func htmlEscaping() throws {
        let context = Self.sampleContext(name: Self.hostileName, account: "A&B \"Shop\" <b>")
        for locale in ["en", "zh-CN"] {
            for method in [VerificationMethod.code, .link] {
                let html = try library.email(method, locale: locale, context: context).html
                #expect(!html.contains("<img"))
                #expect(!html.contains("<b>"))
                #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))
                #expect(html.contains("A&amp;B &quot;Shop&quot; &lt;b&gt;"))
            }
            for page in LinkPage.allCases {
                let html = try library.page(
                    page, locale: locale,
                    context: PageContext(
                        accountName: Self.hostileName, maskedAddress: "\"><script>x</script>",
                        formAction: "\" onmouseover=\"x", nonce: "\"><b>", channel: .email))
                #expect(!html.contains("<img"))
                #expect(!html.contains("<script"))
                #expect(!html.contains("<b>"))
                #expect(!html.contains("\" onmouseover"))
            }
        }
    }

    @Test("plain-text outputs are not HTML-escaped")
    func textIsNotEscaped() throws {
        let context = Self.sampleContext(name: Self.hostileName, account: "A&B <Shop>")
        for locale in ["en", "zh-CN"] {
            for method in [VerificationMethod.code, .link] {
                let email = try library.email(method, locale: locale, context: context)
                let sms = try library.sms(method, locale: locale, context: context)
                #expect(email.text.contains(Self.hostileName))
                #expect(email.text.contains("A&B <Shop>"))
                #expect(email.subject.contains("A&B <Shop>"))
                #expect(sms.contains("A&B <Shop>"))
                for output in [email.text, email.subject, sms] {
                    #expect(!output.contains("&lt;") && !output.contains("&amp;"))
                }
            }
        }
    }

    @Test("a subject is one line even when a value holds line breaks")
    func subjectOneLine() throws {
        let context = Self.sampleContext(account: "Acme\r\nBcc: evil@example.com\u{2028}x\u{0}")
        let subject = try library.email(.code, locale: "en", context: context).subject
        #expect(subject == "Your Acme Bcc: evil@example.com x verification code")
        #expect(MIMEMessage.isSafeHeaderText(subject))
    }

    @Test("a subject's ASCII shortcut agrees with the Unicode categories, and line breaks become LF")
    func textCleanUpHelpers() {
        for value in UInt32(0)...0x7F {
            let scalar = Unicode.Scalar(value)!
            let category = scalar.properties.generalCategory
            let expected = [.control, .lineSeparator, .paragraphSeparator, .spaceSeparator].contains(category)
            #expect(TemplateLibrary.becomesSpace(scalar) == expected, "U+\(String(value, radix: 16))")
        }
        #expect(TemplateLibrary.becomesSpace("\u{85}") && TemplateLibrary.becomesSpace("\u{2028}"))
        #expect(TemplateLibrary.becomesSpace("\u{3000}") && !TemplateLibrary.becomesSpace("\u{E9}"))
        #expect(TemplateLibrary.unixNewlines("a\r\nb\rc\nd") == "a\nb\nc\nd")
        #expect(TemplateLibrary.unixNewlines("") == "")
        let long = String(repeating: "x", count: 5_000)
        #expect(TemplateLibrary.unixNewlines(long + "\r") == long + "\n")
        #expect(TemplateLibrary.unixNewlines(long) == long)
    }

    @Test("a code message without a code, or a link message without a link, throws")
    func missingValues() {
        var context = Self.sampleContext()
        context.code = nil
        #expect(throws: TemplateError.missingValue("code")) { try library.email(.code, locale: "en", context: context) }
        context.link = ""
        #expect(throws: TemplateError.missingValue("link")) { try library.sms(.link, locale: "en", context: context) }
    }

    @Test("locale choice: exact, then by language, then the next candidate, then en")
    func localeFallback() {
        #expect(library.locale(for: ["zh-CN"]) == "zh-CN")
        #expect(library.locale(for: ["ZH-cn"]) == "zh-CN")
        #expect(library.locale(for: ["zh_CN"]) == "zh-CN")
        #expect(library.locale(for: ["zh"]) == "zh-CN")
        #expect(library.locale(for: ["zh-Hans-CN"]) == "zh-CN")
        #expect(library.locale(for: ["zh-TW"]) == "zh-CN")
        #expect(library.locale(for: ["en-GB"]) == "en")
        #expect(library.locale(for: ["EN"]) == "en")
        #expect(library.locale(for: ["fr"]) == "en")
        #expect(library.locale(for: []) == "en")
        #expect(library.locale(for: [nil, "", " ", "*"]) == "en")
        #expect(library.locale(for: [nil, "fr-FR", "zh"]) == "zh-CN")
        #expect(library.locale(for: ["en-US", "zh-CN"]) == "en")
        #expect(library.locale(for: ["x"]) == "en")
    }

    @Test("an unknown locale renders English")
    func unknownLocaleRendersEnglish() throws {
        let sms = try library.sms(.code, locale: "fr", context: Self.sampleContext())
        #expect(sms.hasPrefix("[Acme] Your verification code"))
        let page = try library.page(.invalid, locale: "de-DE", context: PageContext())
        #expect(page.contains("<html lang=\"en\">"))
    }

    @Test("with several Chinese locales, script and region pick the right one")
    func severalChineseLocales() throws {
        let copy = try TestSupport.copyOfTemplates()
        defer { TestSupport.removeItem(copy) }
        try FileManager.default.copyItem(atPath: copy + "/zh-CN", toPath: copy + "/zh-TW")
        let library = try TemplateLibrary(directory: copy)
        #expect(library.locales == ["en", "zh-CN", "zh-TW"])
        #expect(library.locale(for: ["zh-Hant"]) == "zh-TW")
        #expect(library.locale(for: ["zh-HK"]) == "zh-TW")
        #expect(library.locale(for: ["zh-Hans"]) == "zh-CN")
        #expect(library.locale(for: ["zh-SG"]) == "zh-CN")
        #expect(library.locale(for: ["zh"]) == "zh-CN")
        #expect(library.locale(for: ["zh-tw"]) == "zh-TW")
    }

    @Test("a locale folder missing a template fails at init")
    func missingTemplateFailsInit() throws {
        let copy = try TestSupport.copyOfTemplates()
        defer { TestSupport.removeItem(copy) }
        try FileManager.default.removeItem(atPath: copy + "/zh-CN/code.sms.mustache")
        #expect(throws: TemplateError.missingTemplate(locale: "zh-CN", name: "code.sms")) {
            try TemplateLibrary(directory: copy)
        }
    }

    @Test("a missing en folder or template folder fails at init")
    func missingEnglishFailsInit() throws {
        let copy = try TestSupport.copyOfTemplates()
        defer { TestSupport.removeItem(copy) }
        try FileManager.default.removeItem(atPath: copy + "/en")
        #expect(throws: TemplateError.missingDefaultLocale(directory: copy)) { try TemplateLibrary(directory: copy) }
        #expect(throws: TemplateError.directoryNotFound(copy + "/nope")) { try TemplateLibrary(directory: copy + "/nope") }
        #expect(throws: TemplateError.directoryNotFound(copy + "/nope")) {
            try TemplateLibrary(directory: TestSupport.templatesDirectory, overrideDirectory: copy + "/nope")
        }
    }

    @Test("an invalid Mustache file fails at init")
    func parseErrorFailsInit() throws {
        let copy = try TestSupport.copyOfTemplates()
        defer { TestSupport.removeItem(copy) }
        try "{{#code}}unterminated".write(toFile: copy + "/en/code.sms.mustache", atomically: true, encoding: .utf8)
        #expect {
            try TemplateLibrary(directory: copy)
        } throws: { error in
            guard case TemplateError.parse(let path, _) = error else { return false }
            return path.hasSuffix("en/code.sms.mustache")
        }
    }

    @Test("override files replace shipped ones and text overrides stay unescaped")
    func overrideWins() throws {
        let root = try TestSupport.makeOverrideDirectory("code.sms", "OVERRIDE {{accountName}} {{code}}\n")
        defer { TestSupport.removeItem(root) }
        let library = try TemplateLibrary(directory: TestSupport.templatesDirectory, overrideDirectory: root)
        let context = Self.sampleContext(account: "A&B")
        #expect(try library.sms(.code, locale: "en", context: context) == "OVERRIDE A&B 012345")
        #expect(try library.sms(.code, locale: "zh-CN", context: context).hasPrefix("【A&B】"))
        #expect(try library.sms(.link, locale: "en", context: context).hasPrefix("[A&B] Confirm"))
    }

    @Test("an override may add a complete locale but not an incomplete one")
    func overrideLocales() throws {
        let root = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(root) }
        try FileManager.default.copyItem(atPath: TestSupport.templatesDirectory + "/en", toPath: root + "/fr")
        try "[{{accountName}}] Votre code est {{code}}.".write(toFile: root + "/fr/code.sms.mustache", atomically: true, encoding: .utf8)
        let library = try TemplateLibrary(directory: TestSupport.templatesDirectory, overrideDirectory: root)
        #expect(library.locales == ["en", "fr", "zh-CN"])
        #expect(try library.sms(.code, locale: "fr-CA", context: Self.sampleContext()) == "[Acme] Votre code est 012345.")

        try FileManager.default.removeItem(atPath: root + "/fr/page.invalid.html.mustache")
        #expect(throws: TemplateError.missingTemplate(locale: "fr", name: "page.invalid.html")) {
            try TemplateLibrary(directory: TestSupport.templatesDirectory, overrideDirectory: root)
        }
    }

    @Test("an HTML override that turns escaping off is refused", arguments: [
        "<p>{{{contactName}}}</p>", "<p>{{&contactName}}</p>", "{{% CONTENT_TYPE: TEXT}}<p>{{contactName}}</p>",
        "{{=<% %>=}}<p><%{contactName}%></p>",
    ])
    func unsafeOverride(template: String) throws {
        let root = try TestSupport.makeOverrideDirectory("code.email.html", template)
        defer { TestSupport.removeItem(root) }
        #expect {
            try TemplateLibrary(directory: TestSupport.templatesDirectory, overrideDirectory: root)
        } throws: { error in
            guard case TemplateError.unsafeTemplate = error else { return false }
            return true
        }
    }

    @Test("an unescaping tag is found after an empty tag and inside a malformed one")
    func unescapedConstructAnywhere() {
        #expect(TemplateLibrary.unescapedConstruct(in: "{{ }}<p>{{{contactName}}}</p>") != nil)
        #expect(TemplateLibrary.unescapedConstruct(in: "<p>{{ a {{& contactName}}</p>") != nil)
        #expect(TemplateLibrary.unescapedConstruct(in: "<p>{{ contactName }} {{#a}}x{{/a}}</p>") == nil)
        #expect(TemplateLibrary.tags(in: "a {{b}} c {{ d {{e}} {{f") == ["b", " d {{e", "e", "f"])
    }

    @Test("the shipped HTML templates load nothing from elsewhere")
    func noExternalResources() throws {
        for locale in ["en", "zh-CN"] {
            for name in TemplateLibrary.requiredTemplateNames where name.hasSuffix(".html") {
                let text = try String(contentsOfFile: TestSupport.templatesDirectory + "/\(locale)/\(name).mustache", encoding: .utf8)
                #expect(!text.contains("http:") && !text.contains("https:"), "\(locale)/\(name)")
                #expect(!text.contains("src=") && !text.contains("<link") && !text.contains("url(") && !text.contains("@import"))
                #expect(!text.lowercased().contains("<script"))
            }
        }
    }
}
