import Foundation

/// Where and how ``SMTPTransport`` delivers email (design §5 and §7).
///
/// Build it from the CLI's strings with ``parse(url:tls:from:caFile:helo:connections:timeoutSeconds:verifyCertificates:)``,
/// which names the flag at fault in its error, or set the fields directly in tests:
///
/// ```swift
/// let smtp = try SMTPConfiguration.parse(
///     url: "smtp://mailer:secret@mail.example.com:587", tls: "required",
///     from: "Acme <no-reply@acme.example>", helo: "api.acme.example")
/// let transport = try SMTPTransport(smtp)
/// ```
///
/// The password never appears in ``description``, in ``redactedURL`` or in an error.
public struct SMTPConfiguration: Sendable, Equatable {
    /// How `smtp://` uses TLS. `smtps://` always starts with TLS.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// STARTTLS must succeed before anything else is sent (libcurl `CURLUSESSL_ALL`); a
        /// server without STARTTLS fails the message (`smtp_starttls_unavailable`).
        case required
        /// STARTTLS when the server offers it, plain text otherwise (`CURLUSESSL_TRY`).
        case opportunistic
        /// Never TLS: for a relay on the same host or network.
        case none
    }

    /// The server's host name or IP address (an IPv6 address without brackets).
    public var host: String
    /// The server's port (25 for `smtp://`, 465 for `smtps://` unless the URL says otherwise).
    public var port: Int
    /// `smtps://`: TLS from the first byte (implicit TLS).
    public var implicitTLS: Bool
    /// AUTH user name; `nil` sends no AUTH.
    public var username: String?
    /// AUTH password.
    public var password: String?
    /// STARTTLS policy for `smtp://`.
    public var tls: TLSMode
    /// Display name of the sender (`From` header).
    public var fromName: String
    /// The sender's address: `From` header and envelope `MAIL FROM`.
    public var fromAddress: String
    /// The name sent with EHLO; `nil` lets libcurl send this machine's host name.
    public var heloName: String?
    /// A PEM file of CA certificates to trust instead of the system store.
    public var caFile: String?
    /// Whether the server's certificate and host name are verified (leave on outside tests).
    public var verifyCertificates: Bool
    /// The limit for the TCP connection and the TLS handshake.
    public var connectTimeout: Duration
    /// The limit for one whole message, from connecting to the reply after the final ".".
    public var timeout: Duration
    /// Connections used in parallel; each is reused for the following messages.
    public var connections: Int

    /// Creates a configuration; ``SMTPTransport/init(_:)`` validates it.
    public init(
        host: String, port: Int? = nil, implicitTLS: Bool = false, username: String? = nil, password: String? = nil,
        tls: TLSMode = .required, fromName: String = "ContactVerify", fromAddress: String = "no-reply@localhost",
        heloName: String? = nil, caFile: String? = nil, verifyCertificates: Bool = true,
        connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(30), connections: Int = 4
    ) {
        self.host = host
        self.port = port ?? (implicitTLS ? 465 : 25)
        self.implicitTLS = implicitTLS
        self.username = username
        self.password = password
        self.tls = tls
        self.fromName = fromName
        self.fromAddress = fromAddress
        self.heloName = heloName
        self.caFile = caFile
        self.verifyCertificates = verifyCertificates
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.connections = connections
    }

    // MARK: From the command line

    /// Builds a configuration from the CLI's settings and validates it.
    ///
    /// - Parameters:
    ///   - url: `--smtp-url`: `smtp://[user:pass@]host[:port]` or `smtps://…`; user and password
    ///     percent-encoded; no path, query or fragment.
    ///   - tls: `--smtp-tls`: `required` (default), `opportunistic` or `none`.
    ///   - from: `--smtp-from`: `Name <address>`, `"Name" <address>` or a bare address.
    ///   - caFile: `--smtp-ca-file`: a readable PEM file, or `nil` for the system store.
    ///   - helo: `--smtp-helo`: the EHLO name, a DNS name.
    ///   - connections: `--smtp-connections`: 1…64 parallel connections.
    ///   - timeoutSeconds: `--smtp-timeout`: seconds for one message, more than 0 and at most
    ///     600 (a message must not outlive its 10-minute code); connecting gets at most 10 s of it.
    ///   - verifyCertificates: `false` skips certificate verification (tests only).
    /// - Throws: ``SMTPConfigurationError`` naming the setting and what is wrong with it.
    public static func parse(
        url: String, tls: String = "required", from: String = "ContactVerify <no-reply@localhost>", caFile: String? = nil,
        helo: String? = nil, connections: Int = 4, timeoutSeconds: Double = 30, verifyCertificates: Bool = true
    ) throws(SMTPConfigurationError) -> SMTPConfiguration {
        let endpoint = try parseURL(url)
        guard let mode = TLSMode(rawValue: tls.lowercased()) else {
            throw SMTPConfigurationError(setting: "smtp-tls", message: "must be required, opportunistic or none")
        }
        let sender = try parseFrom(from)
        guard timeoutSeconds.isFinite, timeoutSeconds > 0, timeoutSeconds <= 600 else {
            throw SMTPConfigurationError(setting: "smtp-timeout", message: "must be more than 0 and at most 600 seconds")
        }
        let timeout = Duration.milliseconds(Int64((timeoutSeconds * 1000).rounded(.up)))
        let configuration = SMTPConfiguration(
            host: endpoint.host, port: endpoint.port, implicitTLS: endpoint.implicitTLS, username: endpoint.username,
            password: endpoint.password, tls: mode, fromName: sender.name, fromAddress: sender.address,
            heloName: helo.flatMap { $0.isEmpty ? nil : $0 }, caFile: caFile.flatMap { $0.isEmpty ? nil : $0 },
            verifyCertificates: verifyCertificates, connectTimeout: min(timeout, .seconds(10)), timeout: timeout,
            connections: connections)
        try configuration.validate()
        return configuration
    }

    /// Checks every field; ``SMTPTransport`` calls it before its first message.
    public func validate() throws(SMTPConfigurationError) {
        guard Self.isHost(host) else {
            throw SMTPConfigurationError(setting: "smtp-url", message: "the host must be a DNS name or an IP address")
        }
        guard (1...65535).contains(port) else { throw SMTPConfigurationError(setting: "smtp-url", message: "the port must be 1–65535") }
        if implicitTLS && tls == .none {
            throw SMTPConfigurationError(
                setting: "smtp-tls", message: "smtps:// always uses TLS; use smtp:// for a relay without TLS")
        }
        if let username {
            guard !username.isEmpty, Self.isCredentialText(username), Self.isCredentialText(password ?? "") else {
                throw SMTPConfigurationError(setting: "smtp-url", message: "the user name or password is empty or contains control characters")
            }
            if !implicitTLS && tls != .required && !Self.isLoopback(host) {
                throw SMTPConfigurationError(
                    setting: "smtp-tls",
                    message: "a password would cross the network unencrypted; use --smtp-tls required or smtps://")
            }
        } else if password != nil {
            throw SMTPConfigurationError(setting: "smtp-url", message: "a password needs a user name")
        }
        guard MIMEMessage.isPlainAddress(fromAddress) else {
            throw SMTPConfigurationError(setting: "smtp-from", message: "the address must be a plain ASCII local@domain")
        }
        guard MIMEMessage.isSafeHeaderText(fromName) else {
            throw SMTPConfigurationError(setting: "smtp-from", message: "the name contains a control or line-break character")
        }
        if let heloName, !Self.isDNSName(heloName) {
            throw SMTPConfigurationError(setting: "smtp-helo", message: "must be a DNS name (letters, digits, hyphens and dots)")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw SMTPConfigurationError(setting: "smtp-ca-file", message: "no readable file at \(caFile)")
        }
        guard (1...64).contains(connections) else {
            throw SMTPConfigurationError(setting: "smtp-connections", message: "must be 1–64")
        }
        guard timeout > .zero, timeout <= .seconds(600), connectTimeout > .zero else {
            throw SMTPConfigurationError(setting: "smtp-timeout", message: "must be more than 0 and at most 600 seconds")
        }
    }

    // MARK: Derived

    /// The URL libcurl gets: no credentials; the path is the EHLO name.
    var curlURL: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(implicitTLS ? "smtps" : "smtp")://\(hostPart):\(port)/\(heloName ?? "")"
    }

    /// The URL for logs and `--help`: `smtp://user:***@host:port`.
    public var redactedURL: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let user = username.map { ($0.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? "***") + ":***@" } ?? ""
        return "\(implicitTLS ? "smtps" : "smtp")://\(user)\(hostPart):\(port)"
    }

    // MARK: Parsing helpers

    private struct Endpoint {
        var implicitTLS: Bool
        var host: String
        var port: Int
        var username: String?
        var password: String?
    }

    /// `smtp://[user[:pass]@]host[:port][/]`; the URL itself never appears in an error (it
    /// may hold the password).
    private static func parseURL(_ url: String) throws(SMTPConfigurationError) -> Endpoint {
        func invalid(_ message: String) -> SMTPConfigurationError { SMTPConfigurationError(setting: "smtp-url", message: message) }
        guard let schemeEnd = url.range(of: "://") else { throw invalid("must look like smtp://[user:pass@]host:port or smtps://…") }
        let implicitTLS: Bool
        switch url[..<schemeEnd.lowerBound].lowercased() {
        case "smtp": implicitTLS = false
        case "smtps": implicitTLS = true
        default: throw invalid("the scheme must be smtp or smtps")
        }
        var rest = url[schemeEnd.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else {
            throw invalid("no path, query or fragment is allowed (set the EHLO name with --smtp-helo)")
        }
        guard !rest.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) else {
            throw invalid("contains spaces, control or non-ASCII characters (percent-encode the user and password)")
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let pieces = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let user = String(pieces[0]).removingPercentEncoding,
                let pass = (pieces.count > 1 ? String(pieces[1]) : "").removingPercentEncoding
            else { throw invalid("the user or password has an invalid percent-encoding") }
            username = user
            password = pieces.count > 1 ? pass : nil
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("an IPv6 address needs its closing bracket") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        var port = implicitTLS ? 465 : 25
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw invalid("the port must be 1–65535") }
            port = value
        }
        return Endpoint(implicitTLS: implicitTLS, host: host.lowercased(), port: port, username: username, password: password)
    }

    /// A sender (`--smtp-from`) checked for use in a `From` header: one plain address and a
    /// display name without control characters. Used by every email transport.
    public static func parseSender(_ from: String) throws(SMTPConfigurationError) -> (name: String, address: String) {
        let sender = try parseFrom(from)
        guard MIMEMessage.isPlainAddress(sender.address), MIMEMessage.isSafeHeaderText(sender.name) else {
            throw SMTPConfigurationError(setting: "smtp-from", message: "must be \"Name <user@host>\" or user@host, on one line")
        }
        return sender
    }

    /// `Name <address>`, `"Name" <address>`, `<address>` or `address`.
    private static func parseFrom(_ from: String) throws(SMTPConfigurationError) -> (name: String, address: String) {
        let text = from.trimmingCharacters(in: .whitespaces)
        guard text.hasSuffix(">") else { return ("", text) }
        guard let open = text.lastIndex(of: "<") else {
            throw SMTPConfigurationError(setting: "smtp-from", message: "must be \"Name <address>\" or an address")
        }
        let address = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        var name = text[..<open].trimmingCharacters(in: .whitespaces)
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
            name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        }
        return (name, address)
    }

    private static let dnsCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".utf8)

    /// Letters, digits and hyphens in dot-separated labels of 1–63 octets, at most 253 in all.
    static func isDNSName(_ name: String) -> Bool {
        let labels = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return !name.isEmpty && name.utf8.count <= 253
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && label.allSatisfy(dnsCharacters.contains)
                    && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
            }
    }

    /// A DNS name, an IPv4 address (which is one) or an IPv6 address.
    static func isHost(_ host: String) -> Bool {
        if host.contains(":") {
            return host.utf8.allSatisfy { Set("0123456789abcdefABCDEF:.".utf8).contains($0) }
        }
        return isDNSName(host)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    private static func isCredentialText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }
}

extension SMTPConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `smtp://user:***@host:port tls=required connections=4`: never the password.
    public var description: String {
        "\(redactedURL) tls=\(implicitTLS ? "implicit" : tls.rawValue) from=\(fromAddress) connections=\(connections)"
    }

    public var debugDescription: String { description }

    /// Keeps the password out of `dump` and debugger views.
    public var customMirror: Mirror {
        Mirror(self, children: ["url": redactedURL, "tls": tls, "fromAddress": fromAddress, "connections": connections], displayStyle: .struct)
    }
}

/// A setting that cannot work, named by its CLI flag; the message never repeats a password.
public struct SMTPConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The setting at fault, as the flag without dashes: `smtp-url`, `smtp-tls`, `smtp-from`,
    /// `smtp-ca-file`, `smtp-helo`, `smtp-connections`, `smtp-timeout`.
    public var setting: String
    /// What is wrong and how to fix it.
    public var message: String

    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }

    /// `--smtp-url: the port must be 1–65535`.
    public var description: String { "--\(setting): \(message)" }
}
