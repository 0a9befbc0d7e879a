package io.tarflow4j.serve;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the server listens and the limits it enforces. Build with {@link #builder()}; the
 * defaults are safe for a laptop: loopback only, 10 MB bodies, batches of at most 64, four
 * pending model jobs, 64 connections served at once and 16 per client, 20 s to send a request.
 *
 * @param host address to bind (a loopback address unless the user says otherwise)
 * @param port TCP port, 0 for any free port
 * @param maxBatch the most images one sample request may ask for
 * @param queue model jobs that may wait while one runs; more are answered 503
 * @param maxBodyBytes the largest request body accepted
 * @param maxImagePixels the largest uploaded image accepted, in pixels (width times height),
 *     checked before the image is decoded
 * @param maxConnections connections read and answered at once (one thread each); a connection
 *     beyond them is closed at once
 * @param maxClientConnections requests one client address may have in progress; more are
 *     answered 429
 * @param readTimeout the longest a client may take to send a request's head, or stay silent while
 *     sending its body or reading the answer; the connection is then closed
 * @param allowedHosts names accepted in the {@code Host} header besides the loopback names and
 *     {@code host} (for a server reached by a name, e.g. behind a proxy)
 * @param allowedOrigins origins ({@code scheme://host[:port]}) allowed to call the API from a
 *     page of another site, besides the server's own
 */
public record ServerOptions(
        String host,
        int port,
        int maxBatch,
        int queue,
        long maxBodyBytes,
        long maxImagePixels,
        int maxConnections,
        int maxClientConnections,
        Duration readTimeout,
        List<String> allowedHosts,
        List<String> allowedOrigins) {

    /** Validates every field with a message that names the flag. */
    public ServerOptions {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("--host must name an address, got '" + host + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be 0..65535, got " + port);
        }
        if (maxBatch < 1 || maxBatch > 4096) {
            throw new IllegalArgumentException("--max-batch must be 1..4096, got " + maxBatch);
        }
        if (queue < 0 || queue > 1024) {
            throw new IllegalArgumentException("--queue must be 0..1024, got " + queue);
        }
        if (maxBodyBytes < 1024) {
            throw new IllegalArgumentException("the body limit must be at least 1024 bytes, got " + maxBodyBytes);
        }
        if (maxImagePixels < 1) {
            throw new IllegalArgumentException("--max-image-pixels must be >= 1, got " + maxImagePixels);
        }
        if (maxConnections < 2 || maxConnections > 4096) {
            throw new IllegalArgumentException("--max-connections must be 2..4096, got " + maxConnections);
        }
        if (maxClientConnections < 1 || maxClientConnections > maxConnections) {
            throw new IllegalArgumentException("--max-client-connections must be 1..--max-connections ("
                    + maxConnections + "), got " + maxClientConnections);
        }
        if (readTimeout == null || readTimeout.toMillis() < 100 || readTimeout.toSeconds() > 3600) {
            throw new IllegalArgumentException("--read-timeout must be 0.1..3600 seconds, got " + readTimeout);
        }
        allowedHosts = List.copyOf(allowedHosts);
        allowedOrigins = List.copyOf(allowedOrigins);
        for (String o : allowedOrigins) {
            if (!o.matches("https?://[^/\\s]+")) {
                throw new IllegalArgumentException(
                        "--allow-origin must be scheme://host[:port] (no path), got '" + o + "'");
            }
        }
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link ServerOptions}. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 8080;
        private int maxBatch = 64;
        private int queue = 4;
        private long maxBodyBytes = 10L * 1024 * 1024;
        private long maxImagePixels = 4096L * 4096;
        private int maxConnections = 64;
        private int maxClientConnections = 16;
        private Duration readTimeout = Duration.ofSeconds(20);
        private final List<String> allowedHosts = new ArrayList<>();
        private final List<String> allowedOrigins = new ArrayList<>();

        private Builder() {}

        /** Address to bind (default 127.0.0.1). */
        public Builder host(String value) {
            this.host = value;
            return this;
        }

        /** Port (default 8080; 0 for any free port). */
        public Builder port(int value) {
            this.port = value;
            return this;
        }

        /** Largest batch (default 64). */
        public Builder maxBatch(int value) {
            this.maxBatch = value;
            return this;
        }

        /** Pending model jobs (default 4). */
        public Builder queue(int value) {
            this.queue = value;
            return this;
        }

        /** Largest request body in bytes (default 10 MiB). */
        public Builder maxBodyBytes(long value) {
            this.maxBodyBytes = value;
            return this;
        }

        /** Largest uploaded image in pixels (default 4096 x 4096). */
        public Builder maxImagePixels(long value) {
            this.maxImagePixels = value;
            return this;
        }

        /** Connections served at once (default 64). */
        public Builder maxConnections(int value) {
            this.maxConnections = value;
            return this;
        }

        /** Requests in progress per client address (default 16). */
        public Builder maxClientConnections(int value) {
            this.maxClientConnections = value;
            return this;
        }

        /** Time to send a request head, or silence while sending a body or reading an answer (default 20 s). */
        public Builder readTimeout(Duration value) {
            this.readTimeout = value;
            return this;
        }

        /** Adds names accepted in the Host header. */
        public Builder allowHosts(List<String> names) {
            this.allowedHosts.addAll(names);
            return this;
        }

        /** Adds origins allowed to call the API from their pages. */
        public Builder allowOrigins(List<String> origins) {
            this.allowedOrigins.addAll(origins);
            return this;
        }

        /** The options. */
        public ServerOptions build() {
            return new ServerOptions(
                    host,
                    port,
                    maxBatch,
                    queue,
                    maxBodyBytes,
                    maxImagePixels,
                    maxConnections,
                    maxClientConnections,
                    readTimeout,
                    allowedHosts,
                    allowedOrigins);
        }
    }
}
