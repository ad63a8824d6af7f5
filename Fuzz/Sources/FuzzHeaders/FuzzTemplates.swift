import ContactVerifyDelivery
import Foundation

/// The shipped templates (`templates/` of the repository), loaded once.
enum FuzzTemplates {
    /// `$CONTACT_VERIFY_FUZZ_TEMPLATES`, or `templates/` found from this source file's path.
    static let directory: String =
        ProcessInfo.processInfo.environment["CONTACT_VERIFY_FUZZ_TEMPLATES"]
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates").path

    /// The library every input renders with.
    static let library: TemplateLibrary = {
        do {
            return try TemplateLibrary(directory: directory)
        } catch {
            fatalError("FuzzHeaders cannot load the templates at \(directory): \(error)")
        }
    }()
}
