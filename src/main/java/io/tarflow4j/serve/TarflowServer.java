package io.tarflow4j.serve;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP server of {@code tarflow serve}: the page at {@code /}, {@code POST /api/sample},
 * {@code POST /api/score}, {@code GET /api/model} and {@code GET /healthz} (see docs/serve.md).
 *
 * <p>Safe by default: it binds where {@link ServerOptions#host()} says (loopback unless told
 * otherwise); refuses bodies over the size limit (413), unknown or out-of-range parameters (400),
 * uploads that are not PNG/JPEG (415), requests whose Host header does not name this server (DNS
 * rebinding) or whose Origin is not its own page's (403, {@link HostCheck}), and more requests at
 * once from one client than its share (429); clients that stall are cut off after the read timeout
 * ({@link ConnectionGuard}). Model work runs on one {@link ModelWorker} thread with a bounded
 * queue; a full queue answers 503 with {@code Retry-After}. Every failure is answered as
 * {@code {"error": "..."}} (echoing at most a short prefix of the input) and the server keeps
 * serving; a client that disconnects is logged in one line.
 *
 * <p>This class binds, starts and stops; {@link RequestGuard} guards every request,
 * {@link ApiHandlers} answers it and {@link ApiJson} writes the JSON.
 */
public final class TarflowServer implements AutoCloseable {
    private static final String PAGE_RESOURCE = "/io/tarflow4j/serve/index.html";
    /** How long {@link #close} waits for requests in progress. */
    public static final int SHUTDOWN_GRACE_SECONDS = 30;

    private final HttpServer http;
    private final ConnectionGuard connections;
    private final RequestGuard requests;
    private final ModelWorker worker;
    private final boolean loopback;

    private TarflowServer(ServedModel served, ServerOptions options) throws IOException {
        byte[] page;
        try (InputStream in = TarflowServer.class.getResourceAsStream(PAGE_RESOURCE)) {
            if (in == null) {
                throw new IOException("the page resource " + PAGE_RESOURCE + " is missing from the build");
            }
            page = in.readAllBytes();
        }
        InetAddress address = InetAddress.getByName(options.host());
        this.loopback = address.isLoopbackAddress();
        this.worker = new ModelWorker(options.queue());
        this.connections =
                new ConnectionGuard(options.maxConnections(), options.maxClientConnections(), options.readTimeout());
        try {
            this.http = HttpServer.create(new InetSocketAddress(address, options.port()), 64);
        } catch (IOException e) {
            worker.close();
            connections.close();
            throw new IOException(
                    "cannot listen on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
        }
        ApiJson json = new ApiJson();
        ApiHandlers handlers = new ApiHandlers(served, options, worker, json, page);
        this.requests = new RequestGuard(
                HostCheck.of(options, address, http.getAddress().getPort()), connections, json, options.maxBodyBytes());
        http.createContext("/", ex -> requests.handle(ex, handlers::route));
        http.setExecutor(connections);
    }

    /**
     * Starts serving.
     *
     * @throws IOException when the address cannot be bound
     */
    public static TarflowServer start(ServedModel served, ServerOptions options) throws IOException {
        TarflowServer server = new TarflowServer(served, options);
        server.http.start();
        return server;
    }

    /** The port listened on (the chosen one when started with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    /** The page's address. */
    public URI uri() {
        String host = http.getAddress().getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + port() + "/");
    }

    /** The model worker (for tests that need to occupy it). */
    ModelWorker worker() {
        return worker;
    }

    /** Whether the server listens on a loopback address only. */
    public boolean loopbackOnly() {
        return loopback;
    }

    /**
     * Stops taking requests (new ones are answered 503), lets the requests already received
     * finish (their model jobs included, up to {@link #SHUTDOWN_GRACE_SECONDS}) and answers them,
     * then closes the connections and stops the model worker and the threads. The wait counts the
     * requests in the handlers, not the HTTP server's exchanges: an exchange whose client vanished
     * before its answer never ends there.
     */
    @Override
    public void close() {
        requests.close();
        try {
            requests.awaitIdle(System.nanoTime() + TimeUnit.SECONDS.toNanos(SHUTDOWN_GRACE_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http.stop(0);
        worker.close();
        connections.close();
    }
}
