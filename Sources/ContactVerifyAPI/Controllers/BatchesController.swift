import ContactVerifyCore
import Hummingbird

/// Verification batches: create (with contact ids or a status filter), read with counts, and
/// page through per-contact outcomes.
struct BatchesController {
    let services: AppServices

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("accounts/{accountId}/verification-batches", use: create)
        group.get("accounts/{accountId}/verification-batches/{batchId}", use: get)
        group.get("accounts/{accountId}/verification-batches/{batchId}/items", use: items)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        return try await services.idempotent(
            request, context: context, accountID: account.id,
            replay: { id in
                guard let batch = try await services.store.batch(accountID: account.id, id: id) else { throw ServiceError.notFound("batch") }
                return services.jsonReply(try await batchJSON(batch), status: .accepted)
            }
        ) { body, idempotency in
            var body = try body.jsonObject()
            let channel = body.enumValue("channel", as: VerificationChannel.self, required: true)
            let method = body.enumValue("method", as: VerificationMethod.self) ?? .link
            let ids = body.stringArray("contactIds", maxCount: Batch.maxContacts, maxLength: 64, nonEmpty: true)
            var status: AddressStatus?
            if var filter = body.object("filter") {
                status = filter.enumValue("status", as: AddressStatus.self, required: true)
            }
            if body.contains("contactIds") == body.contains("filter") {
                body.recordError("exactly_one", field: "contactIds", message: "Give exactly one of contactIds or filter.")
            }
            try body.finish()
            let selection: BatchService.Selection = ids.map { .contacts($0) } ?? .status(status ?? .notVerified)
            let batch = try await services.batches.create(
                in: account, selection: selection, channel: channel ?? .email, method: method, idempotency: idempotency)
            services.onBatchCreated()
            return services.jsonReply(try await batchJSON(batch), status: .accepted)
        }
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let batch = try await find(context)
        return try services.json(try await batchJSON(batch))
    }

    @Sendable func items(_ request: Request, context: AppRequestContext) async throws -> Response {
        let batch = try await find(context)
        var query = QueryReader(request.uri.queryParameters)
        let limit = query.int("limit", range: 1...500) ?? 100
        let cursor = query.string("cursor", maxLength: 200)
        try query.finish(allowed: ["limit", "cursor"])
        let page = try await services.store.batchItems(batchID: batch.id, limit: limit, cursor: cursor)
        return try services.json(Representation.page(page, Representation.batchItem))
    }

    private func find(_ context: AppRequestContext) async throws -> Batch {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        guard let batch = try await services.store.batch(accountID: account.id, id: context.parameters.path("batchId")) else {
            throw ServiceError.notFound("batch")
        }
        return batch
    }

    private func batchJSON(_ batch: Batch) async throws -> JSONValue {
        Representation.batch(batch, counts: try await services.store.batchCounts(batchID: batch.id))
    }
}
