import ContactVerifyCore
import Logging
import ServiceLifecycle

/// Works through verification batches in the background, paced so that a gateway's rate limit
/// is respected: at most `ratePerSecond` verifications are started each second.
public final class BatchRunner: Service, Sendable {
    private let batches: BatchService
    private let ratePerSecond: Int
    private let logger: Logger
    private let wake = WakeSignal()

    public init(batches: BatchService, ratePerSecond: Int, logger: Logger) {
        precondition(ratePerSecond >= 1, "a batch rate must be at least 1 per second")
        self.batches = batches
        self.ratePerSecond = ratePerSecond
        self.logger = logger
    }

    /// Wakes the runner: a batch was created.
    public func notify() { wake.signal() }

    /// Runs until graceful shutdown: one second's worth of items per pass, then waits for the
    /// rest of that second (or, when idle, until woken, at most a second).
    public func run() async throws {
        await wake.repeatUntilShutdown {
            let started = ContinuousClock.now
            var worked = 0
            do {
                worked = try await batches.runOnce(limit: ratePerSecond)
            } catch is CancellationError {
                // Stopping: the pass was cut short on purpose.
            } catch {
                logger.error("Batch pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            let remaining = Duration.seconds(1) - (ContinuousClock.now - started)
            if worked == 0 {
                await wake.wait(timeout: .seconds(1))
            } else if remaining > .zero {
                try? await Task.sleep(for: remaining)
            }
        }
    }
}
