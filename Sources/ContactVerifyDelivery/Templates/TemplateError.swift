/// Why the template library could not load or render.
///
/// Loading errors are meant to stop the service at start-up: a missing template must not
/// surface later as a failed send.
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template folder (or the override folder) does not exist or is not a folder.
    case directoryNotFound(String)
    /// The template folder has no `en` locale, the fallback of every other locale.
    case missingDefaultLocale(directory: String)
    /// A locale folder lacks one of the required templates.
    case missingTemplate(locale: String, name: String)
    /// A template file could not be read or is not valid UTF-8.
    case unreadable(path: String)
    /// A template file is not valid Mustache.
    case parse(path: String, reason: String)
    /// An HTML template turns off HTML escaping (triple mustache, `{{&…}}`, a content-type
    /// pragma or a delimiter change), which would let a contact's name inject markup.
    case unsafeTemplate(path: String, reason: String)
    /// The message context lacks a value the method needs (a code for `code`, a link for `link`).
    case missingValue(String)

    /// A one-line explanation for logs and start-up errors.
    public var description: String {
        switch self {
        case .directoryNotFound(let path): "template folder not found: \(path)"
        case .missingDefaultLocale(let directory): "template folder \(directory) has no 'en' locale folder"
        case .missingTemplate(let locale, let name): "template \(locale)/\(name).mustache is missing"
        case .unreadable(let path): "template \(path) cannot be read as UTF-8 text"
        case .parse(let path, let reason): "template \(path) is not valid Mustache: \(reason)"
        case .unsafeTemplate(let path, let reason): "template \(path) is unsafe: \(reason)"
        case .missingValue(let name): "the message has no \(name) to render"
        }
    }
}
