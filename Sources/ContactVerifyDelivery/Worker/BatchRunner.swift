import ContactVerifyCore
import Logging
import ServiceLifecycle

/// Works through verification batches in the background, paced so that a gateway's rate limit
/// is respected: at most `ratePerSecond` verifications are started each second.
public final class BatchRunner: Service, Sendable {
    private let batches: BatchService
    private let pacing: BatchPacing
    private let logger: Logger
    private let wake = WakeSignal()

    public init(batches: BatchService, ratePerSecond: Int, logger: Logger) {
        self.batches = batches
        self.pacing = BatchPacing(ratePerSecond: ratePerSecond)
        self.logger = logger
    }

    /// Wakes the runner: a batch was created.
    public func notify() { wake.signal() }

    /// Runs until graceful shutdown: each pass takes what is left of the current second's
    /// budget (``BatchPacing``); after a pass that drained every pending item the runner waits
    /// until woken (at most a second), after one that spent the budget until the second is over.
    public func run() async throws {
        var pacing = self.pacing
        await wake.repeatUntilShutdown {
            let budget = pacing.budget(at: .now)
            var worked = 0
            do {
                worked = try await batches.runOnce(limit: budget)
            } catch is CancellationError {
                // Stopping: the pass was cut short on purpose.
            } catch {
                logger.error("Batch pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            switch pacing.finished(worked: worked, budget: budget) {
            case .waitForWork(let timeout):
                await wake.wait(timeout: timeout)
            case .sleep(let deadline):
                try? await Task.sleep(until: deadline, clock: .continuous)
            }
        }
    }
}
