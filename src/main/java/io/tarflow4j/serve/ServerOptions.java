package io.tarflow4j.serve;

/**
 * Where the server listens and the limits it enforces. Build with {@link #builder()}; the
 * defaults are safe for a laptop: loopback only, 10 MB bodies, batches of at most 64, four
 * pending model jobs.
 *
 * @param host address to bind (a loopback address unless the user says otherwise)
 * @param port TCP port, 0 for any free port
 * @param maxBatch the most images one sample request may ask for
 * @param queue model jobs that may wait while one runs; more are answered 503
 * @param maxBodyBytes the largest request body accepted
 * @param maxImagePixels the largest uploaded image accepted, in pixels (width times height),
 *     checked before the image is decoded
 * @param httpThreads threads that read requests and write answers (they wait for the model
 *     worker; their number bounds the memory held by request bodies)
 */
public record ServerOptions(String host, int port, int maxBatch, int queue, long maxBodyBytes,
        long maxImagePixels, int httpThreads) {

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
        if (httpThreads < 1) {
            throw new IllegalArgumentException("HTTP threads must be >= 1, got " + httpThreads);
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
        private int httpThreads = 8;

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

        /** Request threads (default 8). */
        public Builder httpThreads(int value) {
            this.httpThreads = value;
            return this;
        }

        /** The options. */
        public ServerOptions build() {
            return new ServerOptions(host, port, maxBatch, queue, maxBodyBytes, maxImagePixels, httpThreads);
        }
    }
}
