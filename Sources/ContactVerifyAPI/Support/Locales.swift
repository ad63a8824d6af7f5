

/// Language tags accepted for `locale` fields: a BCP 47 shape (`en`, `zh-CN`, `pt-BR`),
/// checked syntactically; unknown languages fall back to `en` when templates are chosen.
enum Locales {
    static func isValid(_ tag: String) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { part in
            (1...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }
}
