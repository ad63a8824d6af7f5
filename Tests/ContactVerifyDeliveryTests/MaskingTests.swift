import ContactVerifyCore
import Testing

@testable import ContactVerifyDelivery

@Suite("Masking")
struct MaskingTests {
    @Test("email: first character, three stars, the domain")
    func emails() {
        #expect(MIMEMessage.maskedEmail("alice@example.com") == "a***@example.com")
        #expect(MIMEMessage.maskedEmail("a@example.com") == "a***@example.com")
        #expect(MIMEMessage.maskedEmail("Bob.Smith+tag@xn--bcher-kva.example") == "B***@xn--bcher-kva.example")
        #expect(MIMEMessage.maskedEmail("not-an-address") == "***")
        #expect(MIMEMessage.maskedEmail("@example.com") == "***")
        #expect(MIMEMessage.maskedEmail("a@b@c") == "***")
    }

    @Test("phone: country code, first three and last four of the national number")
    func phones() {
        #expect(MIMEMessage.maskedPhone("+8613800138000") == "+86 138****8000")
        #expect(MIMEMessage.maskedPhone("+447700900123") == "+44 77****0123")
        #expect(MIMEMessage.maskedPhone("+12025550123") == "+1 20****0123")
        #expect(MIMEMessage.maskedPhone("+33612345678") == "+33 6****5678")
        #expect(MIMEMessage.maskedPhone("+6591234567") == "+65 ****4567")
        #expect(MIMEMessage.maskedPhone("+390612345678") == "+39 06****5678")
        #expect(MIMEMessage.maskedPhone("+79161234567") == "+7 91****4567")
        #expect(MIMEMessage.maskedPhone("+85291234567") == "+852 ****4567")
        #expect(MIMEMessage.maskedPhone("+4915112345678") == "+49 151****5678")
    }

    @Test("phone: at least four digits (or half) stay hidden")
    func phonesHideEnough() {
        for number in ["+8613800138000", "+12025550123", "+6591234567", "+35312345", "+3541234567", "+68812345"] {
            let masked = MIMEMessage.maskedPhone(number)
            let nationalDigits = masked.split(separator: " ").last.map { $0.filter(\.isNumber).count } ?? 0
            let hidden = masked.filter { $0 == "*" }.count
            #expect(hidden >= min(4, (hidden + nationalDigits + 1) / 2), "\(masked)")
        }
    }

    @Test("phone: anything that is not E.164 is masked completely")
    func badPhones() {
        for input in ["13800138000", "+", "+1", "+86 138 0013 8000", "+８６13800138000", "", "+861380013800012345"] {
            #expect(MIMEMessage.maskedPhone(input) == "****", "\(input)")
        }
    }

    @Test("masking by channel")
    func byChannel() {
        #expect(MIMEMessage.maskedAddress("ann@example.com", channel: .email) == "a***@example.com")
        #expect(MIMEMessage.maskedAddress("+8613800138000", channel: .sms) == "+86 138****8000")
    }
}
