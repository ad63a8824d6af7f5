import ContactVerifyCore
import Foundation
import Mustache

/// The Mustache templates of every locale, loaded and checked once at start-up.
///
/// The folder holds one sub-folder per locale (`templates/en`, `templates/zh-CN`), each with
/// every name of ``requiredTemplateNames`` as `<name>.mustache`. `en` must exist: it is the
/// fallback of every other locale. An override folder laid out the same way replaces files
/// of the same locale and name, and may add locales (which must then be complete).
///
/// Escaping: `.html` templates HTML-escape every `{{value}}` and may not turn escaping off;
/// subject, `.txt` and `.sms` templates are rendered as plain text (the library applies the
/// `TEXT` content type itself, so an override file cannot forget it).
///
/// Speed: email and SMS templates are prepared at load time (``PreparedTemplate``) and a
/// message only joins their text with its values; a template that cannot be prepared (an
/// override using transforms, say) renders through Mustache at each message.
public final class TemplateLibrary: Sendable {
    /// The file names (without `.mustache`) every locale folder must provide.
    public static var requiredTemplateNames: [String] { TemplateName.allCases.map(\.rawValue) }

    /// The locale every lookup falls back to.
    public static let defaultLocale = "en"

    /// Locale folder name → its templates.
    let templates: [String: [TemplateName: MustacheTemplate]]
    /// Locale folder name → message template → presence of its values → the template prepared
    /// for them (``PreparedTemplate``); a message without one here renders through Mustache.
    let prepared: [String: [TemplateName: [[Bool]: PreparedTemplate]]]
    /// Lower-cased locale → locale folder name, for case-insensitive matching.
    private let localeByLowercased: [String: String]

    /// The locales that have templates, sorted.
    public let locales: [String]

    /// Loads and checks every locale folder of `directory`, then applies `overrideDirectory`.
    ///
    /// - Throws: ``TemplateError`` when a folder is missing, `en` is missing, a locale lacks a
    ///   template, a file is not valid Mustache, or an HTML template disables escaping.
    public init(directory: String, overrideDirectory: String? = nil) throws {
        var files = try Self.templateFiles(in: directory)
        guard files[Self.defaultLocale] != nil else {
            throw TemplateError.missingDefaultLocale(directory: directory)
        }
        if let overrideDirectory {
            for (locale, overrides) in try Self.templateFiles(in: overrideDirectory) {
                files[locale, default: [:]].merge(overrides) { _, override in override }
            }
        }
        var templates: [String: [TemplateName: MustacheTemplate]] = [:]
        for (locale, names) in files {
            var loaded: [TemplateName: MustacheTemplate] = [:]
            for name in TemplateName.allCases {
                guard let path = names[name] else {
                    throw TemplateError.missingTemplate(locale: locale, name: name.rawValue)
                }
                loaded[name] = try Self.load(path, as: name)
            }
            templates[locale] = loaded
        }
        self.templates = templates
        self.prepared = templates.mapValues(Self.prepare)
        self.locales = templates.keys.sorted()
        self.localeByLowercased = Dictionary(
            templates.keys.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: - Locale choice

    /// The locale to render in: the first candidate that has templates, else `en`.
    ///
    /// Each candidate (contact locale, request locale, account locale…; `nil` and empty ones
    /// are skipped) is matched exactly, ignoring case and treating `_` as `-`; failing that,
    /// by language: `zh`, `zh-Hans-CN` or `zh-SG` choose `zh-CN` when it is the only Chinese
    /// locale, `en-GB` chooses `en`. When several locales share the language, the one sharing
    /// the most subtags (region, script; `Hans` counts as `CN`, `Hant`, `HK` and `MO` as `TW`)
    /// wins, then a bare-language folder, then the first by name.
    public func locale(for candidates: [String?]) -> String {
        for candidate in candidates {
            guard let candidate else { continue }
            // Not `replacingOccurrences`: it goes through NSString, and every start and message asks.
            let tag = String(candidate.trimmingWhitespace().map { $0 == "_" ? "-" : $0 })
            guard !tag.isEmpty, tag != "*" else { continue }
            if let exact = localeByLowercased[tag.lowercased()] { return exact }
            if let match = languageMatch(for: tag) { return match }
        }
        return Self.defaultLocale
    }

    private func languageMatch(for tag: String) -> String? {
        let subtags = tag.lowercased().split(separator: "-").map(String.init)
        guard let language = subtags.first, (2...3).contains(language.count) else { return nil }
        let sameLanguage = locales.filter { $0.lowercased().split(separator: "-").first.map(String.init) == language }
        guard sameLanguage.count > 1 else { return sameLanguage.first }

        var wanted = Set(subtags.dropFirst())
        // Chinese: a script implies the usual region and a region its script.
        if !wanted.isDisjoint(with: ["hk", "mo", "tw"]) { wanted.insert("hant") }
        if !wanted.isDisjoint(with: ["cn", "sg"]) { wanted.insert("hans") }
        if wanted.contains("hans") { wanted.insert("cn") }
        if wanted.contains("hant") { wanted.insert("tw") }
        func score(_ locale: String) -> Int {
            Set(locale.lowercased().split(separator: "-").dropFirst().map(String.init)).intersection(wanted).count
        }
        let best = sameLanguage.map(score).max() ?? 0
        let top = sameLanguage.filter { score($0) == best }
        if top.count == 1 { return top[0] }
        if let bare = top.first(where: { $0.lowercased() == language }) { return bare }
        return top.first
    }

    // MARK: - Rendering

    /// Renders the subject, text and HTML of a verification email.
    ///
    /// `locale` should come from ``locale(for:)``; an unknown one falls back like a candidate.
    /// The subject is one line: CR, LF and other control characters become spaces.
    /// - Throws: ``TemplateError/missingValue(_:)`` when the context lacks the code or link.
    public func email(_ method: VerificationMethod, locale: String, context: MessageContext) throws -> RenderedEmail {
        let values = try Self.values(of: context, for: method)
        let locale = self.locale(for: [locale])
        let subject: TemplateName = method == .code ? .codeEmailSubject : .linkEmailSubject
        let text: TemplateName = method == .code ? .codeEmailText : .linkEmailText
        let html: TemplateName = method == .code ? .codeEmailHTML : .linkEmailHTML
        return RenderedEmail(
            subject: Self.oneLine(renderMessage(locale, subject, values)),
            text: Self.unixNewlines(renderMessage(locale, text, values)),
            html: Self.unixNewlines(renderMessage(locale, html, values))
        )
    }

    /// Renders the text of a verification SMS, trimmed of surrounding whitespace.
    /// - Throws: ``TemplateError/missingValue(_:)`` when the context lacks the code or link.
    public func sms(_ method: VerificationMethod, locale: String, context: MessageContext) throws -> String {
        let values = try Self.values(of: context, for: method)
        let rendered = renderMessage(self.locale(for: [locale]), method == .code ? .codeSMS : .linkSMS, values)
        return Self.unixNewlines(rendered).trimmingWhitespace()
    }

    /// Renders one of the public link pages as a complete HTML document.
    public func page(_ page: LinkPage, locale: String, context: PageContext) throws -> String {
        let name: TemplateName =
            switch page {
            case .confirm: .pageConfirm
            case .confirmed: .pageConfirmed
            case .alreadyVerified: .pageAlreadyVerified
            case .invalid: .pageInvalid
            }
        let resolved = self.locale(for: [locale])
        var values: [String: Any] = ["locale": resolved]
        if let value = context.accountName, !value.isEmpty { values["accountName"] = value }
        if let value = context.maskedAddress, !value.isEmpty { values["maskedAddress"] = value }
        if let value = context.formAction, !value.isEmpty { values["formAction"] = value }
        if let value = context.nonce, !value.isEmpty { values["nonce"] = value }
        if let channel = context.channel {
            values["channel"] = channel.rawValue
            values["isEmail"] = channel == .email
            values["isPhone"] = channel == .sms
        }
        return Self.unixNewlines(render(templateSet(for: resolved), name, values))
    }

    private func templateSet(for locale: String) -> [TemplateName: MustacheTemplate] {
        // Both lookups succeed: `en` is checked at init and `locale(for:)` only returns loaded locales.
        templates[self.locale(for: [locale])] ?? templates[Self.defaultLocale] ?? [:]
    }

    private func render(_ set: [TemplateName: MustacheTemplate], _ name: TemplateName, _ values: [String: Any]) -> String {
        set[name]?.render(values) ?? ""
    }

    /// Renders a message template of a locale that ``locale(for:)`` returned: prepared when it
    /// could be, else through Mustache.
    private func renderMessage(_ locale: String, _ name: TemplateName, _ values: [PreparedTemplate.Value?]) -> String {
        if let template = prepared[locale]?[name]?[PreparedTemplate.presence(of: values)] {
            return template.render(values)
        }
        return render(templateSet(for: locale), name, PreparedTemplate.context(slots: Self.messageSlots, values: values))
    }

    /// The values a message template may use, in the order ``values(of:for:)`` gives them.
    static let messageSlots: [PreparedTemplate.Slot] = [
        .init(name: "accountName"), .init(name: "maskedAddress"), .init(name: "contactName"),
        .init(name: "code"), .init(name: "link"),
        .init(name: "expiresInMinutes", isInteger: true), .init(name: "expiresInHours", isInteger: true),
    ]

    /// The values of a message, by ``messageSlots`` position: the context plus `locale`-free
    /// helpers (`expiresInHours` when the lifetime is at least two whole hours).
    private static func values(of context: MessageContext, for method: VerificationMethod) throws -> [PreparedTemplate.Value?] {
        let name = context.contactName.trimmingWhitespace()
        var code: String?
        var link: String?
        switch method {
        case .code:
            guard let value = context.code, !value.isEmpty else { throw TemplateError.missingValue("code") }
            code = value
        case .link:
            guard let value = context.link, !value.isEmpty else { throw TemplateError.missingValue("link") }
            link = value
        }
        let wholeHours = context.expiresInMinutes >= 120 && context.expiresInMinutes % 60 == 0
        return [
            .text(context.accountName), .text(context.maskedAddress), name.isEmpty ? nil : .text(name),
            code.map(PreparedTemplate.Value.text), link.map(PreparedTemplate.Value.text),
            .integer(context.expiresInMinutes), wholeHours ? .integer(context.expiresInMinutes / 60) : nil,
        ]
    }

    /// A locale's message templates prepared for every presence of their values that
    /// ``values(of:for:)`` can produce (a contact name or not, whole hours or not).
    private static func prepare(_ set: [TemplateName: MustacheTemplate]) -> [TemplateName: [[Bool]: PreparedTemplate]] {
        var result: [TemplateName: [[Bool]: PreparedTemplate]] = [:]
        for (name, template) in set {
            guard let method = name.messageMethod else { continue }
            var forms: [[Bool]: PreparedTemplate] = [:]
            for contactName in ["", "name"] {
                for expiresInMinutes in [10, 120] {
                    // The presence comes from `values(of:for:)` itself, so the two cannot drift apart.
                    let sample = MessageContext(
                        accountName: "", contactName: contactName, code: "code", link: "link",
                        expiresInMinutes: expiresInMinutes, maskedAddress: "")
                    guard let values = try? values(of: sample, for: method) else { continue }
                    let present = PreparedTemplate.presence(of: values)
                    forms[present] = PreparedTemplate(template, slots: messageSlots, present: present, escapesHTML: name.isHTML)
                }
            }
            result[name] = forms
        }
        return result
    }

    // MARK: - Text clean-up

    /// Collapses a rendered subject to one trimmed line: every control character, line or
    /// paragraph separator becomes a space, and runs of spaces become one.
    static func oneLine(_ text: String) -> String {
        var result = ""
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if becomesSpace(scalar) {
                pendingSpace = !result.isEmpty
                continue
            }
            if pendingSpace {
                result.unicodeScalars.append(" ")
                pendingSpace = false
            }
            result.unicodeScalars.append(scalar)
        }
        return result
    }

    /// Whether ``oneLine(_:)`` turns `scalar` into a space: a control character (general
    /// category Cc), a line or paragraph separator or a space separator.
    static func becomesSpace(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII without the Unicode tables: a subject is mostly ASCII, and the category lookup
        // was 0.9 % of the service's CPU while it sent emails. Cc is 0x00–0x1F and 0x7F, Zs 0x20.
        if scalar.isASCII { return scalar.value <= 0x20 || scalar.value == 0x7F }
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .spaceSeparator: return true
        default: return false
        }
    }

    /// Turns CRLF and lone CR into LF.
    static func unixNewlines(_ text: String) -> String {
        // A byte search: `String.contains` goes through NSString (1.4 % of the service's CPU
        // while it sent a batch of emails), and rendered templates rarely hold a CR. `memchr`
        // on the contiguous bytes: a byte at a time through the UTF-8 view was still 0.9 %.
        let carriageReturn = UInt8(ascii: "\r")
        let hasCarriageReturn =
            text.utf8.withContiguousStorageIfAvailable { bytes in
                guard let start = bytes.baseAddress else { return false }
                return memchr(start, Int32(carriageReturn), bytes.count) != nil
            } ?? text.utf8.contains(carriageReturn)
        guard hasCarriageReturn else { return text }
        return text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }

    // MARK: - Loading

    /// The `<locale>/<name>.mustache` files of a template folder, by locale and name.
    private static func templateFiles(in directory: String) throws -> [String: [TemplateName: String]] {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TemplateError.directoryNotFound(directory)
        }
        let root = URL(fileURLWithPath: directory, isDirectory: true)
        var result: [String: [TemplateName: String]] = [:]
        for entry in (try? fileManager.contentsOfDirectory(atPath: directory)) ?? [] where isLocaleFolderName(entry) {
            let folder = root.appendingPathComponent(entry, isDirectory: true).path
            guard fileManager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            var names: [TemplateName: String] = [:]
            for name in TemplateName.allCases {
                let path = URL(fileURLWithPath: folder, isDirectory: true).appendingPathComponent(name.fileName).path
                if fileManager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    names[name] = path
                }
            }
            result[entry] = names
        }
        return result
    }

    /// A BCP 47-shaped folder name (`en`, `zh-CN`, `pt-BR`); other folders are ignored.
    static func isLocaleFolderName(_ name: String) -> Bool {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count),
            first.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return false }
        return parts.dropFirst().allSatisfy { part in
            (1...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }

    private static func load(_ path: String, as name: TemplateName) throws -> MustacheTemplate {
        guard let data = FileManager.default.contents(atPath: path),
            var text = String(data: data, encoding: .utf8)
        else { throw TemplateError.unreadable(path: path) }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        if name.isHTML {
            if let reason = unescapedConstruct(in: text) {
                throw TemplateError.unsafeTemplate(path: path, reason: reason)
            }
        } else {
            // Plain-text output: no HTML entities in subjects, text bodies or SMS.
            text = "{{% CONTENT_TYPE: TEXT}}" + text
        }
        do {
            return try MustacheTemplate(string: text)
        } catch let error as MustacheTemplate.ParserError {
            throw TemplateError.parse(
                path: path, reason: "\(error.error) at line \(error.context.lineNumber), column \(error.context.columnNumber)")
        } catch {
            throw TemplateError.parse(path: path, reason: "\(error)")
        }
    }

    /// Finds a tag that would print a value without HTML escaping, or could change how the
    /// rest is parsed: `{{{…}}}`, `{{&…}}`, `{{%…}}` pragmas and `{{=…=}}` delimiter changes.
    static func unescapedConstruct(in text: String) -> String? {
        for tag in tags(in: text) {
            guard let sigil = tag.first(where: { !$0.isWhitespace }) else { continue }
            switch sigil {
            case "{": return "a triple mustache {{{…}}} prints a value without HTML escaping"
            case "&": return "{{&…}} prints a value without HTML escaping"
            case "%": return "a {{%…}} pragma may switch HTML escaping off"
            case "=": return "a {{=…=}} delimiter change is not allowed in HTML templates"
            default: continue
            }
        }
        return nil
    }

    /// What follows each `{{` of a template's source up to the next `}}` (to the end when there
    /// is none), in order: the tags as written with the default delimiters. A `{{` inside
    /// another tag's text starts a tag of its own, so a check cannot be hidden in a malformed one.
    static func tags(in text: String) -> [Substring] {
        var tags: [Substring] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            tags.append(rest[..<(rest.range(of: "}}")?.lowerBound ?? rest.endIndex)])
        }
        return tags
    }
}

/// The twelve templates of a locale.
enum TemplateName: String, CaseIterable, Sendable {
    case codeEmailSubject = "code.email.subject"
    case codeEmailText = "code.email.txt"
    case codeEmailHTML = "code.email.html"
    case codeSMS = "code.sms"
    case linkEmailSubject = "link.email.subject"
    case linkEmailText = "link.email.txt"
    case linkEmailHTML = "link.email.html"
    case linkSMS = "link.sms"
    case pageConfirm = "page.confirm.html"
    case pageConfirmed = "page.confirmed.html"
    case pageAlreadyVerified = "page.already-verified.html"
    case pageInvalid = "page.invalid.html"

    /// `<name>.mustache`.
    var fileName: String { rawValue + ".mustache" }

    /// Whether the output is HTML (escaped) rather than plain text.
    var isHTML: Bool { rawValue.hasSuffix(".html") }

    /// The method of a message template (email or SMS); `nil` for pages.
    var messageMethod: VerificationMethod? {
        switch self {
        case .codeEmailSubject, .codeEmailText, .codeEmailHTML, .codeSMS: .code
        case .linkEmailSubject, .linkEmailText, .linkEmailHTML, .linkSMS: .link
        case .pageConfirm, .pageConfirmed, .pageAlreadyVerified, .pageInvalid: nil
        }
    }
}
