package io.tarflow4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import io.tarflow4j.io.Excerpt;
import io.tarflow4j.model.TarFlowConfig;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The endpoints: each reads its request, hands the model work to the {@link ModelWorker} and
 * answers through {@link ApiJson}; {@link #route} picks one by path.
 */
final class ApiHandlers {
    private static final Logger LOG = LoggerFactory.getLogger(TarflowServer.class);

    private final ServedModel served;
    private final ServerOptions options;
    private final ModelWorker worker;
    private final SampleGenerator generator;
    private final UploadScorer scorer;
    private final ApiJson json;
    private final byte[] page;
    private final SecureRandom seeds = new SecureRandom();

    /**
     * @param page the HTML of the page at {@code /}
     */
    ApiHandlers(ServedModel served, ServerOptions options, ModelWorker worker, ApiJson json, byte[] page) {
        this.served = served;
        this.options = options;
        this.worker = worker;
        this.json = json;
        this.page = page;
        this.generator = new SampleGenerator(served);
        this.scorer = new UploadScorer(served);
    }

    /** Answers a request by its path (404 for an unknown one). */
    int route(ApiExchange ex) throws IOException {
        String path = ex.path();
        return switch (path) {
            case "/", "/index.html" -> page(ex);
            case "/healthz" -> health(ex);
            case "/api/model" -> model(ex);
            case "/api/sample" -> sample(ex);
            case "/api/score" -> score(ex);
            default ->
                throw new HttpError(
                        404,
                        "no such page: " + Excerpt.of(path)
                                + " (the API is POST /api/sample, POST /api/score, GET /api/model, GET /healthz)");
        };
    }

    private int page(ApiExchange ex) throws IOException {
        ex.requireMethod("GET");
        ex.responseHeader(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline';"
                        + " style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'; form-action 'none';"
                        + " frame-ancestors 'none'");
        ex.responseHeader("Cache-Control", "no-store");
        return ex.send(200, "text/html; charset=utf-8", page);
    }

    private int health(ApiExchange ex) throws IOException {
        ex.requireMethod("GET");
        return ex.sendJson(200, json.health(worker));
    }

    private int model(ApiExchange ex) throws IOException {
        ex.requireMethod("GET");
        return ex.sendJson(200, json.model(served, options));
    }

    private int sample(ApiExchange ex) throws IOException {
        ex.requireMethod("POST");
        boolean png = wantsPng(ex);
        String type = ex.mediaType();
        if (type != null && !type.equals("application/json")) {
            throw new HttpError(415, "send the parameters as JSON with Content-Type: application/json, not " + type);
        }
        JsonNode tree = json.parse(ex.body());
        SampleRequest request = SampleRequest.fromJson(tree, served, options.maxBatch(), this::randomSeed);
        SampleResult result = onModel(() -> generator.sample(request));
        byte[] grid = PngBytes.grid(result.images(), result.count(), result.channels(), result.size());
        if (png) {
            ex.responseHeader("X-Seed", Long.toString(request.seed()));
            ex.responseHeader("X-Time-Ms", Long.toString(result.millis()));
            return ex.send(200, "image/png", grid);
        }
        return ex.sendJson(200, json.sample(request, result, served, grid));
    }

    /** Whether the samples go back as one PNG: {@code ?format=png}, else an Accept of PNG and not JSON. */
    private static boolean wantsPng(ApiExchange ex) {
        String format = ex.query("format");
        if (format != null) {
            return switch (format) {
                case "png" -> true;
                case "json" -> false;
                default ->
                    throw HttpError.badRequest("query parameter format must be png or json, got '" + format + "'");
            };
        }
        String accept = ex.header("Accept");
        return accept != null
                && accept.toLowerCase(Locale.ROOT).contains("image/png")
                && !accept.toLowerCase(Locale.ROOT).contains("application/json");
    }

    private int score(ApiExchange ex) throws IOException {
        ex.requireMethod("POST");
        String type = ex.mediaType();
        if (type == null
                || !(type.equals("image/png")
                        || type.equals("image/jpeg")
                        || type.equals("image/jpg")
                        || type.equals("multipart/form-data"))) {
            throw new HttpError(
                    415,
                    "send the image as the body with Content-Type image/png or image/jpeg, or as"
                            + " multipart/form-data (field 'image'); got " + (type == null ? "no Content-Type" : type));
        }
        byte[] bytes = ex.body();
        if (type.equals("multipart/form-data")) {
            MultipartBody.Part part =
                    MultipartBody.parse(ex.header("Content-Type"), bytes).file("image");
            if (part == null) {
                throw HttpError.badRequest("the form has no file part; upload the image as field 'image'");
            }
            bytes = part.body();
        }
        TarFlowConfig c = served.config();
        UploadedImage image = UploadedImage.decode(bytes, c.inChannels(), c.imageSize(), options.maxImagePixels());
        ScoreResult result = onModel(() -> scorer.score(image));
        return ex.sendJson(200, json.score(result, image, served));
    }

    /** Runs {@code job} on the model worker, answering a full queue with 503 and a bad input with 400. */
    private <T> T onModel(Callable<T> job) {
        try {
            return worker.run(job);
        } catch (RejectedExecutionException e) {
            throw new HttpError(
                    503,
                    "the model is busy (one job running, " + options.queue()
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
}
