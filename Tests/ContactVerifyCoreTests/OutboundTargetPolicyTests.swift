import ContactVerifyCore
import Testing

/// The SSRF guard's address classes and URL checks (security.md: a webhook must not become a
/// way into the internal network).
@Suite("Outbound target policy")
struct OutboundTargetPolicyTests {
    @Test(
        "addresses are classified by range, IPv4 and IPv6 alike, and IPv4 inside IPv6 by the IPv4 address",
        arguments: [
            ("8.8.8.8", NetworkAddressClass.global), ("203.0.114.1", .global), ("2a00:1450:4001:81a::200e", .global),
            ("127.0.0.1", .loopback), ("127.255.0.9", .loopback), ("::1", .loopback), ("[::1]", .loopback),
            ("10.1.2.3", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork),
            ("192.168.1.1", .privateNetwork), ("100.64.0.1", .privateNetwork), ("fd12:3456::1", .privateNetwork),
            ("fec0::1", .privateNetwork), ("172.32.0.1", .global),
            ("169.254.169.254", .linkLocal), ("fe80::1", .linkLocal),
            ("0.0.0.0", .unspecified), ("::", .unspecified), ("0.1.2.3", .unspecified),
            ("224.0.0.1", .multicast), ("ff02::1", .multicast), ("255.255.255.255", .reserved), ("240.0.0.1", .reserved),
            ("2001:db8::1", .reserved), ("192.0.2.10", .reserved),
            // IPv4 carried in IPv6.
            ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::ffff:10.0.0.1", .privateNetwork),
            ("::ffff:169.254.169.254", .linkLocal), ("::ffff:8.8.8.8", .global), ("::127.0.0.1", .loopback),
            ("64:ff9b::a9fe:a9fe", .linkLocal), ("2002:7f00:1::", .loopback), ("2002:0a00:0001::1", .privateNetwork),
            // The legacy IPv4 spellings the C resolver (and so libcurl) accepts.
            ("2130706433", .loopback), ("0x7f.1", .loopback), ("127.1", .loopback), ("017700000001", .loopback),
        ])
    func classes(host: String, expected: NetworkAddressClass) throws {
        let address = try #require(NetworkAddress(numericHost: host), "\(host) parses")
        #expect(address.addressClass == expected, "\(host)")
    }

    @Test("names and zone-scoped literals are not numeric hosts")
    func names() {
        #expect(NetworkAddress(numericHost: "example.com") == nil)
        #expect(NetworkAddress(numericHost: "localhost") == nil)
        #expect(NetworkAddress(numericHost: "fe80::1%eth0") == nil)
        #expect(NetworkAddress(numericHost: "") == nil)
    }

    @Test("by default only public addresses are permitted; the operator's option opens loopback and private ones only")
    func permits() throws {
        let strict = OutboundTargetPolicy()
        let open = OutboundTargetPolicy(allowPrivateTargets: true)
        for (host, strictly, openly) in [
            ("8.8.8.8", true, true), ("127.0.0.1", false, true), ("10.0.0.1", false, true), ("::ffff:127.0.0.1", false, true),
            ("169.254.169.254", false, false), ("0.0.0.0", false, false), ("224.0.0.1", false, false), ("::", false, false),
        ] {
            let address = try #require(NetworkAddress(numericHost: host))
            #expect(strict.permits(address) == strictly, "\(host)")
            #expect(open.permits(address) == openly, "\(host)")
        }
    }

    @Test(
        "URLs are refused with a stable code: scheme, credentials, private literals and local names",
        arguments: [
            ("http://oapi.dingtalk.com/robot/send?access_token=x", "insecure_scheme"),
            ("ftp://example.com/x", "invalid_scheme"), ("javascript:alert(1)", "invalid_url"), ("/relative/path", "invalid_url"),
            ("https://user:pass@example.com/hook", "credentials_in_url"), ("https://example.com@127.0.0.1/hook", "credentials_in_url"),
            ("https://127.0.0.1/hook", "private_target"), ("https://[::1]/hook", "private_target"),
            ("https://[::ffff:127.0.0.1]/hook", "private_target"), ("https://2130706433/hook", "private_target"),
            ("https://169.254.169.254/latest/meta-data", "private_target"), ("https://localhost/hook", "private_target"),
            ("https://api.localhost/hook", "private_target"), ("https://intranet/hook", "private_target"),
            ("https://example.com/a b", "invalid_url"), ("https://example.com\\@127.0.0.1/", "invalid_url"),
            ("https://example.com/hook#frag", "invalid_url"),
        ])
    func refusals(url: String, code: String) {
        guard case .failure(let refusal) = OutboundTargetPolicy().check(url: url) else {
            Issue.record("\(url) was accepted")
            return
        }
        #expect(refusal.code == code, "\(url)")
        #expect(!refusal.message.contains(url))
    }

    @Test("public https URLs pass and mask to scheme, host and port; the operator's option admits loopback http")
    func accepted() throws {
        let target = try OutboundTargetPolicy().check(url: "https://oapi.dingtalk.com/robot/send?access_token=abc123").get()
        #expect(target.masked == "https://oapi.dingtalk.com/…")
        let open = OutboundTargetPolicy(allowPrivateTargets: true)
        #expect(try open.check(url: "http://127.0.0.1:8443/cgi-bin/webhook/send?key=k").get().masked == "http://127.0.0.1:8443/…")
        #expect(try open.check(url: "http://localhost/hook").get().host == "localhost")
        guard case .failure(let refusal) = open.check(url: "https://169.254.169.254/") else {
            Issue.record("link-local accepted")
            return
        }
        #expect(refusal.code == "private_target")
    }
}
