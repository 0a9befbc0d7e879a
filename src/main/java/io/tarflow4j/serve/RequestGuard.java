package io.tarflow4j.serve;

import com.sun.net.httpserver.HttpExchange;
import io.tarflow4j.io.Excerpt;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's front door: every request passes here before an endpoint sees it. Refuses requests
 * while the server closes (503), whose Host header does not name this server or whose Origin is
 * not its own page's (403, {@link HostCheck}), and more at once from one client than its share
 * (429, {@link ConnectionGuard}); answers every failure as {@code {"error": "..."}} and logs a
 * client that disconnects in one line; counts the requests in progress so that closing can wait
 * for them.
 */
final class RequestGuard {
    /** Logged under the server's name: what an operator filters on. */
    private static final Logger LOG = LoggerFactory.getLogger(TarflowServer.class);

    /** An endpoint: answers a request that passed the guard and returns the status sent. */
    @FunctionalInterface
    interface Endpoint {
        int answer(ApiExchange ex) throws IOException;
    }

    private final HostCheck hostCheck;
    private final ConnectionGuard connections;
    private final ApiJson json;
    private final long maxBodyBytes;
    private final AtomicInteger inProgress = new AtomicInteger();
    private volatile boolean closing;

    RequestGuard(HostCheck hostCheck, ConnectionGuard connections, ApiJson json, long maxBodyBytes) {
        this.hostCheck = hostCheck;
        this.connections = connections;
        this.json = json;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** Answers {@code ex} through {@code endpoint} if the request passes, else with its error. */
    void handle(HttpExchange ex, Endpoint endpoint) {
        long start = System.nanoTime();
        int status = 500;
        inProgress.incrementAndGet();
        ApiExchange api = new ApiExchange(ex, connections, json, maxBodyBytes);
        try {
            if (closing) {
                throw new HttpError(503, "the server is shutting down");
            }
            hostCheck.check(api.header("Host"), api.header("Origin"));
            try (ConnectionGuard.Ticket admitted = connections.admit(ex)) {
                status = endpoint.answer(api);
            }
        } catch (HttpError e) {
            status = e.status();
            sendError(ex, api, e.status(), e.getMessage());
        } catch (IOException e) {
            // the client went away while sending or receiving (one stalled past the read timeout
            // was logged by the guard)
            status = 0;
            if (!connections.expired()) {
                LOG.info(
                        "{} {} from {}: the client disconnected before the answer was complete ({})",
                        ex.getRequestMethod(),
                        Excerpt.of(api.path()),
                        ex.getRemoteAddress(),
                        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            }
        } catch (RuntimeException e) {
            status = 500;
            LOG.warn("{} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            sendError(ex, api, 500, "internal error: " + e);
        } finally {
            connections.disarm();
            ex.close();
            inProgress.decrementAndGet();
            LOG.debug(
                    "{} {} -> {} in {} ms",
                    ex.getRequestMethod(),
                    ex.getRequestURI(),
                    status,
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    /** Refuses new requests from now on (503). */
    void close() {
        closing = true;
    }

    /**
     * Waits until the requests in progress are answered, or until {@code deadline}
     * ({@link System#nanoTime}).
     */
    void awaitIdle(long deadline) throws InterruptedException {
        while (inProgress.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    private void sendError(HttpExchange ex, ApiExchange api, int status, String message) {
        try {
            if (status == 503) {
                api.responseHeader("Retry-After", "1");
            }
            api.sendJson(status, json.error(message));
        } catch (IOException | RuntimeException e) {
            LOG.info(
                    "{} {} from {}: could not send the {} answer; the client is gone ({})",
                    ex.getRequestMethod(),
                    Excerpt.of(api.path()),
                    ex.getRemoteAddress(),
                    status,
                    e.getMessage());
        }
    }
}
