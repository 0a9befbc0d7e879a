package io.tarflow4j.serve;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.model.TarFlowConfig;
import java.io.IOException;
import java.util.Base64;

/**
 * The API's JSON: request bodies parsed strictly (no duplicate keys, nothing after the value)
 * and the answers of {@code /healthz}, {@code /api/model}, {@code /api/sample},
 * {@code /api/score} and of errors built from their results (docs/serve.md). Numbers that are not
 * finite are written as null.
 */
final class ApiJson {
    /** The longest error message sent. */
    private static final int MAX_ERROR_CHARS = 1000;

    private final ObjectMapper mapper = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** A request body; an empty body is an empty object. */
    JsonNode parse(byte[] body) throws IOException {
        try {
            return body.length == 0 ? mapper.createObjectNode() : mapper.readTree(body);
        } catch (JsonProcessingException e) {
            throw HttpError.badRequest("malformed JSON: " + e.getOriginalMessage());
        }
    }

    /** The bytes of an answer. */
    byte[] bytes(JsonNode answer) throws JsonProcessingException {
        return mapper.writeValueAsBytes(answer);
    }

    /** {@code {"error": message}}, the message cut at {@value #MAX_ERROR_CHARS} characters. */
    ObjectNode error(String message) {
        ObjectNode o = mapper.createObjectNode();
        // the messages quote inputs by short prefixes; this bounds any message as a last resort
        o.put("error", message.length() <= MAX_ERROR_CHARS ? message : message.substring(0, MAX_ERROR_CHARS) + "...");
        return o;
    }

    /** The answer of {@code /healthz}. */
    ObjectNode health(ModelWorker worker) {
        ObjectNode o = mapper.createObjectNode();
        o.put("status", "ok");
        o.put("pending_jobs", worker.pending());
        o.put("completed_jobs", worker.completed());
        return o;
    }

    /** The answer of {@code /api/model}: the model, its sampling abilities and the server's limits. */
    ObjectNode model(ServedModel served, ServerOptions options) {
        TarFlowConfig c = served.config();
        ObjectNode o = mapper.createObjectNode();
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
        return o;
    }

    /**
     * The JSON answer of {@code /api/sample}: the seed, the parameters used, the grid, every image
     * and the trace when asked for, as base64 PNGs.
     *
     * @param grid the PNG of all images in one grid
     */
    ObjectNode sample(SampleRequest request, SampleResult result, ServedModel served, byte[] grid) {
        int c = result.channels();
        int size = result.size();
        Base64.Encoder b64 = Base64.getEncoder();
        ObjectNode o = mapper.createObjectNode();
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
        return o;
    }

    /** The answer of {@code /api/score}: the figures of {@code result}, with the upload's notes. */
    ObjectNode score(ScoreResult result, UploadedImage image, ServedModel served) {
        ObjectNode o = mapper.createObjectNode();
        putNumber(o, "bits_per_dim", result.bitsPerDim());
        putNumber(o, "bits_per_dim_marginal", result.marginalBitsPerDim());
        o.put("anomaly_method", UploadScorer.ANOMALY.flag());
        putNumber(o, "anomaly", result.anomaly());
        o.put("conditional", served.conditional());
        o.put("dequantization", UploadScorer.dequantization());
        ArrayNode notes = o.putArray("notes");
        image.notes().forEach(notes::add);
        o.put("time_ms", result.millis());
        if (result.posterior() != null) {
            ArrayNode classes = o.putArray("classes");
            for (int k = 0; k < result.posterior().length; k++) {
                ObjectNode e = classes.addObject();
                e.put("class", k);
                e.put("name", served.classNames().get(k));
                putNumber(e, "log_likelihood", result.logLikelihoods()[k]);
                putNumber(e, "bits_per_dim", result.classBitsPerDim()[k]);
                putNumber(e, "posterior", result.posterior()[k]);
            }
            o.put("predicted_class", result.predicted());
            o.put("predicted_name", served.classNames().get(result.predicted()));
        }
        return o;
    }

    private static void putNumber(ObjectNode o, String field, double v) {
        if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.putNull(field);
        }
    }
}
