package io.tarflow4j.serve;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tarflow4j.evaluation.BitsPerDim;
import io.tarflow4j.io.Excerpt;
import io.tarflow4j.model.TarFlowConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 */
public final class TarflowServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TarflowServer.class);
    private static final String PAGE_RESOURCE = "/io/tarflow4j/serve/index.html";
    /** How long {@link #close} waits for requests in progress. */
    public static final int SHUTDOWN_GRACE_SECONDS = 30;
    /** The longest error message sent. */
    private static final int MAX_ERROR_CHARS = 1000;

    private final ServedModel served;
    private final ServerOptions options;
    private final HttpServer http;
    private final ConnectionGuard guard;
    private final HostCheck hostCheck;
    private final ModelWorker worker;
    private final SampleGenerator generator;
    private final ImageScorer scorer;
    private final ObjectMapper json;
    private final byte[] page;
    private final boolean loopback;
    private final SecureRandom seeds = new SecureRandom();
    private final AtomicInteger inProgress = new AtomicInteger();
    private volatile boolean closing;

    private TarflowServer(ServedModel served, ServerOptions options) throws IOException {
        this.served = served;
        this.options = options;
        this.json = new ObjectMapper()
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        try (InputStream in = TarflowServer.class.getResourceAsStream(PAGE_RESOURCE)) {
            if (in == null) {
                throw new IOException("the page resource " + PAGE_RESOURCE + " is missing from the build");
            }
            this.page = in.readAllBytes();
        }
        this.generator = new SampleGenerator(served);
        this.scorer = new ImageScorer(served);
        InetAddress address = InetAddress.getByName(options.host());
        this.loopback = address.isLoopbackAddress();
        this.worker = new ModelWorker(options.queue());
        this.guard = new ConnectionGuard(options.maxConnections(), options.maxClientConnections(),
                options.readTimeout());
        try {
            this.http = HttpServer.create(new InetSocketAddress(address, options.port()), 64);
        } catch (IOException e) {
            worker.close();
            guard.close();
            throw new IOException("cannot listen on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
        }
        this.hostCheck = HostCheck.of(options, address, http.getAddress().getPort());
        http.createContext("/", this::handle);
        http.setExecutor(guard);
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
        closing = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SHUTDOWN_GRACE_SECONDS);
        try {
            while (inProgress.get() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        http.stop(0);
        worker.close();
        guard.close();
    }

    private void handle(HttpExchange ex) {
        long start = System.nanoTime();
        int status = 500;
        inProgress.incrementAndGet();
        try {
            if (closing) {
                throw new HttpError(503, "the server is shutting down");
            }
            hostCheck.check(header(ex, "Host"), header(ex, "Origin"));
            try (ConnectionGuard.Ticket admitted = guard.admit(ex)) {
                String path = ex.getRequestURI().getPath();
                status = switch (path) {
                    case "/", "/index.html" -> page(ex);
                    case "/healthz" -> health(ex);
                    case "/api/model" -> model(ex);
                    case "/api/sample" -> sample(ex);
                    case "/api/score" -> score(ex);
                    default -> throw new HttpError(404, "no such page: " + Excerpt.of(path)
                            + " (the API is POST /api/sample, POST /api/score, GET /api/model, GET /healthz)");
                };
            }
        } catch (HttpError e) {
            status = e.status();
            sendError(ex, e.status(), e.getMessage());
        } catch (IOException e) {
            // the client went away while sending or receiving (one stalled past the read timeout
            // was logged by the guard)
            status = 0;
            if (!guard.expired()) {
                LOG.info("{} {} from {}: the client disconnected before the answer was complete ({})",
                        ex.getRequestMethod(), Excerpt.of(ex.getRequestURI().getPath()), ex.getRemoteAddress(),
                        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
            }
        } catch (RuntimeException e) {
            status = 500;
            LOG.warn("{} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            sendError(ex, 500, "internal error: " + e);
        } finally {
            guard.disarm();
            ex.close();
            inProgress.decrementAndGet();
            LOG.debug("{} {} -> {} in {} ms", ex.getRequestMethod(), ex.getRequestURI(), status,
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    // --- endpoints ---

    private int page(HttpExchange ex) throws IOException {
        requireMethod(ex, "GET");
        ex.getResponseHeaders().set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline';"
                + " style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'; form-action 'none';"
                + " frame-ancestors 'none'");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        return send(ex, 200, "text/html; charset=utf-8", page);
    }

    private int health(HttpExchange ex) throws IOException {
        requireMethod(ex, "GET");
        ObjectNode o = json.createObjectNode();
        o.put("status", "ok");
        o.put("pending_jobs", worker.pending());
        o.put("completed_jobs", worker.completed());
        return sendJson(ex, 200, o);
    }

    private int model(HttpExchange ex) throws IOException {
        requireMethod(ex, "GET");
        TarFlowConfig c = served.config();
        ObjectNode o = json.createObjectNode();
        o.put("name", served.name());
        ObjectNode config = o.putObject("config");
        config.put("in_channels", c.inChannels());
        config.put("image_size", c.imageSize());
        config.put("patch_size", c.patchSize());
        config.put("width", c.width());
        ArrayNode layers = config.putArray("layers_per_block");
        c.layersPerBlock().forEach(layers::add);
        config.put("head_dim", c.headDim());
        config.put("mlp_expansion", c.mlpExpansion());
        config.put("nvp", c.nvp());
        config.put("num_classes", c.numClasses());
        config.put("num_tokens", c.numTokens());
        config.put("token_dim", c.tokenDim());
        o.put("conditional", served.conditional());
        ArrayNode names = o.putArray("class_names");
        served.classNames().forEach(names::add);
        o.put("class_names_from_checkpoint", served.classNamesFromFile());
        o.put("noise", served.metadata().get("noise"));
        putNumber(o, "sigma", served.sigma());
        o.put("can_denoise", served.canDenoise());
        o.put("used_ema", served.usedEma());
        ObjectNode samplers = o.putObject("samplers");
        samplers.put("sequential", true);
        samplers.put("jacobi", true);
        o.put("jacobi_strategy", served.strategyName());
        ObjectNode limits = o.putObject("limits");
        limits.put("max_batch", options.maxBatch());
        limits.put("queue", options.queue());
        limits.put("max_body_bytes", options.maxBodyBytes());
        limits.put("max_image_pixels", options.maxImagePixels());
        limits.put("max_guidance", SampleRequest.MAX_GUIDANCE);
        limits.put("max_temperature", SampleRequest.MAX_TEMPERATURE);
        limits.put("trace_images", SampleGenerator.TRACE_IMAGES);
        return sendJson(ex, 200, o);
    }

    private int sample(HttpExchange ex) throws IOException {
        requireMethod(ex, "POST");
        String format = query(ex, "format");
        boolean png;
        if (format != null) {
            png = switch (format) {
                case "png" -> true;
                case "json" -> false;
                default -> throw HttpError.badRequest("query parameter format must be png or json, got '"
                        + format + "'");
            };
        } else {
            String accept = header(ex, "Accept");
            png = accept != null && accept.toLowerCase(Locale.ROOT).contains("image/png")
                    && !accept.toLowerCase(Locale.ROOT).contains("application/json");
        }
        String type = mediaType(ex);
        if (type != null && !type.equals("application/json")) {
            throw new HttpError(415, "send the parameters as JSON with Content-Type: application/json, not " + type);
        }
        byte[] body = readBody(ex);
        JsonNode tree;
        try {
            tree = body.length == 0 ? json.createObjectNode() : json.readTree(body);
        } catch (JsonProcessingException e) {
            throw HttpError.badRequest("malformed JSON: " + e.getOriginalMessage());
        }
        SampleRequest request = SampleRequest.fromJson(tree, served, options.maxBatch(), this::randomSeed);
        SampleResult result = onModel(() -> generator.sample(request));
        int c = result.channels();
        int size = result.size();
        byte[] grid = PngBytes.grid(result.images(), result.count(), c, size);
        if (png) {
            ex.getResponseHeaders().set("X-Seed", Long.toString(request.seed()));
            ex.getResponseHeaders().set("X-Time-Ms", Long.toString(result.millis()));
            return send(ex, 200, "image/png", grid);
        }
        Base64.Encoder b64 = Base64.getEncoder();
        ObjectNode o = json.createObjectNode();
        o.put("seed", request.seed());
        o.put("time_ms", result.millis());
        o.put("count", result.count());
        o.put("channels", c);
        o.put("image_size", size);
        o.set("parameters", request.toJson(served));
        if (request.denoise()) {
            o.put("sigma", served.sigma());
        }
        o.put("grid", b64.encodeToString(grid));
        ArrayNode images = o.putArray("images");
        for (int i = 0; i < result.count(); i++) {
            images.add(b64.encodeToString(PngBytes.image(result.images(), i, c, size)));
        }
        if (request.trace()) {
            ArrayNode trace = o.putArray("trace");
            for (SampleResult.Stage stage : result.trace()) {
                ObjectNode s = trace.addObject();
                s.put("stage", stage.name());
                s.put("grid", b64.encodeToString(PngBytes.grid(stage.images(), result.traceCount(), c, size)));
            }
        }
        return sendJson(ex, 200, o);
    }

    private int score(HttpExchange ex) throws IOException {
        requireMethod(ex, "POST");
        String type = mediaType(ex);
        if (type == null || !(type.equals("image/png") || type.equals("image/jpeg") || type.equals("image/jpg")
                || type.equals("multipart/form-data"))) {
            throw new HttpError(415, "send the image as the body with Content-Type image/png or image/jpeg, or as"
                    + " multipart/form-data (field 'image'); got " + (type == null ? "no Content-Type" : type));
        }
        byte[] body = readBody(ex);
        byte[] bytes = body;
        if (type.equals("multipart/form-data")) {
            MultipartBody.Part part = MultipartBody.parse(header(ex, "Content-Type"), body).file("image");
            if (part == null) {
                throw HttpError.badRequest("the form has no file part; upload the image as field 'image'");
            }
            bytes = part.body();
        }
        TarFlowConfig c = served.config();
        UploadedImage image = UploadedImage.decode(bytes, c.inChannels(), c.imageSize(), options.maxImagePixels());
        ScoreResult result = onModel(() -> scorer.score(image));
        ObjectNode o = json.createObjectNode();
        putNumber(o, "bits_per_dim", result.bitsPerDim());
        putNumber(o, "bits_per_dim_marginal", result.marginalBitsPerDim());
        o.put("anomaly_method", ImageScorer.ANOMALY.flag());
        putNumber(o, "anomaly", result.anomaly());
        o.put("conditional", served.conditional());
        o.put("dequantization", ImageScorer.dequantization());
        ArrayNode notes = o.putArray("notes");
        image.notes().forEach(notes::add);
        o.put("time_ms", result.millis());
        if (result.posterior() != null) {
            int best = 0;
            ArrayNode classes = o.putArray("classes");
            int dims = c.dims();
            for (int k = 0; k < result.posterior().length; k++) {
                ObjectNode e = classes.addObject();
                e.put("class", k);
                e.put("name", served.classNames().get(k));
                putNumber(e, "log_likelihood", result.logLikelihoods()[k]);
                putNumber(e, "bits_per_dim", BitsPerDim.fromLogProbability(result.logLikelihoods()[k], dims));
                putNumber(e, "posterior", result.posterior()[k]);
                if (result.posterior()[k] > result.posterior()[best]) {
                    best = k;
                }
            }
            o.put("predicted_class", best);
            o.put("predicted_name", served.classNames().get(best));
        }
        return sendJson(ex, 200, o);
    }

    // --- model jobs ---

    private <T> T onModel(Callable<T> job) {
        try {
            return worker.run(job);
        } catch (RejectedExecutionException e) {
            throw new HttpError(503, "the model is busy (one job running, " + options.queue()
                    + " waiting, the queue limit); retry shortly");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof HttpError h) {
                throw h;
            }
            if (cause instanceof IllegalArgumentException) {
                throw HttpError.badRequest(cause.getMessage());
            }
            LOG.warn("model job failed", cause);
            throw new HttpError(500, "the model failed: " + cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HttpError(503, "the server is shutting down");
        }
    }

    private long randomSeed() {
        return seeds.nextLong() & SampleRequest.MAX_SEED;
    }

    // --- request helpers ---

    private static void requireMethod(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method);
            throw new HttpError(405, ex.getRequestURI().getPath() + " takes " + method + ", not "
                    + ex.getRequestMethod());
        }
    }

    private byte[] readBody(HttpExchange ex) throws IOException {
        long limit = options.maxBodyBytes();
        String length = header(ex, "Content-Length");
        if (length != null) {
            long declared;
            try {
                declared = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw HttpError.badRequest("Content-Length is not a number: " + Excerpt.of(length));
            }
            if (declared > limit) {
                ex.getResponseHeaders().set("Connection", "close");
                throw new HttpError(413, "the request body has " + declared + " bytes, more than the limit of "
                        + limit);
            }
        }
        try (InputStream in = guard.watch(ex.getRequestBody())) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (body.length > limit) {
                ex.getResponseHeaders().set("Connection", "close");
                throw new HttpError(413, "the request body is larger than the limit of " + limit + " bytes");
            }
            return body;
        } finally {
            guard.disarm(); // the model work that follows has no deadline
        }
    }

    private static String header(HttpExchange ex, String name) {
        return ex.getRequestHeaders().getFirst(name);
    }

    private static String mediaType(HttpExchange ex) {
        String type = header(ex, "Content-Type");
        if (type == null) {
            return null;
        }
        int semi = type.indexOf(';');
        return (semi < 0 ? type : type.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    private static String query(HttpExchange ex, String name) {
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (key.equals(name)) {
                return eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    // --- responses ---

    private static void putNumber(ObjectNode o, String field, double v) {
        if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.putNull(field);
        }
    }

    private int sendJson(HttpExchange ex, int status, JsonNode body) throws IOException {
        return send(ex, status, "application/json", json.writeValueAsBytes(body));
    }

    private void sendError(HttpExchange ex, int status, String message) {
        try {
            if (status == 503) {
                ex.getResponseHeaders().set("Retry-After", "1");
            }
            ObjectNode o = json.createObjectNode();
            // the messages quote inputs by short prefixes; this bounds any message as a last resort
            o.put("error", message.length() <= MAX_ERROR_CHARS ? message
                    : message.substring(0, MAX_ERROR_CHARS) + "...");
            sendJson(ex, status, o);
        } catch (IOException | RuntimeException e) {
            LOG.info("{} {} from {}: could not send the {} answer; the client is gone ({})", ex.getRequestMethod(),
                    Excerpt.of(ex.getRequestURI().getPath()), ex.getRemoteAddress(), status, e.getMessage());
        }
    }

    private int send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        guard.answering();
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = guard.watch(ex.getResponseBody())) {
            out.write(body);
        }
        return status;
    }
}
