import Dispatch
import ServiceLifecycle
import StratosProjections

/// The projection worker of `serve --project` as a service of the server's service group: it
/// starts with the server and, on SIGTERM/SIGINT, stops after the HTTP server has drained (the
/// group shuts its services down in reverse order): the worker's running statement is
/// cancelled, its open batch rolls back, and the next start resumes from the last commit.
struct WorkerService: Service {
    let supervisor: ProjectionSupervisor

    func run() async throws {
        supervisor.start()
        // Suspends until the graceful shutdown (or throws when the task is cancelled).
        try? await gracefulShutdown()
        let supervisor = self.supervisor
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            // `stop` blocks (it waits for the worker's thread): off the cooperative pool.
            DispatchQueue.global().async {
                supervisor.stop(timeout: .seconds(5))
                c.resume()
            }
        }
    }
}
