import Hummingbird

/// `{"hello":"world"}`, encoded per request like any JSON response.
struct Greeting: ResponseEncodable {
    let hello: String
}

/// `bench-hello PORT`: serves `GET /hello` on 127.0.0.1:PORT until killed.
let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8080 : 8080
let router = Router()
router.get("hello") { _, _ in Greeting(hello: "world") }
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port))
)
try await app.runService()
