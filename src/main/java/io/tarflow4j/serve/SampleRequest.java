package io.tarflow4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.io.Excerpt;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.sampling.SamplerType;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The parameters of one sampling request, validated against the served model and the server's
 * limits. JSON field names (all optional):
 *
 * <pre>
 * class       class index or name, or null for none (mean class embedding)   default null
 * guidance    classifier-free guidance weight, 0..20                         default 0
 * guide       "scale", "shift" or "both"                                     default "both"
 * attn_temp   attention temperature of the unguided branch, (0, 10]          default 1
 * annealed    guidance weight rising over the tokens                         default false
 * noise_temp  multiplies the prior noise, (0, 10]                            default 1
 * seed        integer 0..2^53-1                                              default: random
 * sampler     "sequential" or "jacobi" (GS-Jacobi)                           default "sequential"
 * denoise     score-based denoising of the samples                           default false
 * batch       number of images, 1..max-batch                                 default min(16, max-batch)
 * trace       also return the images after each block                        default false
 * </pre>
 *
 * @param classLabel the class, or null for none
 * @param guidance guidance weight, target, attention temperature and annealing
 * @param noiseTemperature multiplies the prior noise
 * @param seed seed of the prior noise
 * @param sampler the sampler
 * @param denoise whether to denoise
 * @param batch number of images
 * @param trace whether to keep the images after every block
 */
public record SampleRequest(
        Integer classLabel,
        Guidance guidance,
        double noiseTemperature,
        long seed,
        SamplerType sampler,
        boolean denoise,
        int batch,
        boolean trace) {

    /** Largest guidance weight accepted. */
    public static final double MAX_GUIDANCE = 20;
    /** Largest temperature accepted. */
    public static final double MAX_TEMPERATURE = 10;
    /** Largest seed accepted (the largest integer a JavaScript number holds exactly). */
    public static final long MAX_SEED = (1L << 53) - 1;

    private static final Set<String> FIELDS = Set.of(
            "class",
            "guidance",
            "guide",
            "attn_temp",
            "annealed",
            "noise_temp",
            "seed",
            "sampler",
            "denoise",
            "batch",
            "trace");

    /**
     * Reads and validates a request.
     *
     * @param json the request body, a JSON object
     * @param served the model the request is for (class range, whether denoising is possible)
     * @param maxBatch the server's batch limit
     * @param randomSeed gives the seed when the request names none
     * @throws HttpError 400 naming the field and what it must be
     */
    public static SampleRequest fromJson(JsonNode json, ServedModel served, int maxBatch, LongSupplier randomSeed) {
        if (json == null || !json.isObject()) {
            throw HttpError.badRequest("the request body must be a JSON object, e.g. {\"batch\": 4, \"seed\": 1}");
        }
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                unknown.add(f);
            }
        }
        if (!unknown.isEmpty()) {
            throw HttpError.badRequest("unknown field" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(
                            ", ", unknown.stream().limit(5).map(Excerpt::of).toList())
                    + (unknown.size() > 5 ? ", ..." : "") + "; the fields are "
                    + String.join(", ", FIELDS.stream().sorted().toList()));
        }
        Integer classLabel = classLabel(json.get("class"), served);
        double weight = number(json, "guidance", 0, 0, MAX_GUIDANCE, true);
        Guidance.Target target = switch (text(json, "guide", "both")) {
            case "scale" -> Guidance.Target.SCALE;
            case "shift" -> Guidance.Target.SHIFT;
            case "both" -> Guidance.Target.BOTH;
            default ->
                throw HttpError.badRequest(
                        "field 'guide' must be \"scale\", \"shift\" or \"both\", got " + echo(json.get("guide")));
        };
        double attnTemp = number(json, "attn_temp", 1, 0, MAX_TEMPERATURE, false);
        boolean annealed = bool(json, "annealed", false);
        if (weight > 0 && attnTemp == 1 && classLabel == null) {
            // the sampling package refuses guidance that cannot change the samples; say it in API terms
            String why = served.conditional()
                    ? "without a class both branches use the mean class embedding"
                    : "the model is unconditional, so both branches see the same input";
            throw HttpError.badRequest("field 'guidance': guidance would do nothing: " + why + " and the unguided"
                    + " branch runs at attention temperature 1. Set 'attn_temp' to a value other than 1 (e.g. 0.3)"
                    + (served.conditional() ? " or choose a 'class'" : "") + ", or send guidance 0");
        }
        double noiseTemp = number(json, "noise_temp", 1, 0, MAX_TEMPERATURE, false);
        long seed = json.hasNonNull("seed") ? integer(json, "seed", 0, 0, MAX_SEED) : randomSeed.getAsLong();
        SamplerType sampler = switch (text(json, "sampler", "sequential")) {
            case "sequential" -> SamplerType.SEQUENTIAL;
            case "jacobi" -> SamplerType.JACOBI;
            default ->
                throw HttpError.badRequest(
                        "field 'sampler' must be \"sequential\" or \"jacobi\", got " + echo(json.get("sampler")));
        };
        boolean denoise = bool(json, "denoise", false);
        if (denoise && !served.canDenoise()) {
            throw HttpError.badRequest("denoising needs the training noise sigma, and " + served.name()
                    + " records none (start the server with --sigma)");
        }
        int batch = (int) integer(json, "batch", Math.min(16, maxBatch), 1, maxBatch);
        boolean trace = bool(json, "trace", false);
        return new SampleRequest(
                classLabel,
                new Guidance(weight, target, attnTemp, annealed),
                noiseTemp,
                seed,
                sampler,
                denoise,
                batch,
                trace);
    }

    /** The parameters used, as JSON (the request's fields with every default filled in). */
    public ObjectNode toJson(ServedModel served) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        if (classLabel == null) {
            o.putNull("class");
            o.putNull("class_name");
        } else {
            o.put("class", classLabel);
            o.put("class_name", served.classNames().get(classLabel));
        }
        o.put("guidance", guidance.weight());
        o.put("guide", guidance.target().name().toLowerCase(Locale.ROOT));
        o.put("attn_temp", guidance.attnTemp());
        o.put("annealed", guidance.annealed());
        o.put("noise_temp", noiseTemperature);
        o.put("seed", seed);
        o.put("sampler", sampler.name().toLowerCase(Locale.ROOT));
        o.put("denoise", denoise);
        o.put("batch", batch);
        o.put("trace", trace);
        return o;
    }

    private static Integer classLabel(JsonNode node, ServedModel served) {
        if (node == null || node.isNull()) {
            return null;
        }
        int classes = served.config().numClasses();
        if (classes == 0) {
            throw HttpError.badRequest("field 'class': this model is unconditional; send null or leave it out");
        }
        if (node.isIntegralNumber()) {
            long c = node.asLong();
            if (!node.canConvertToLong() || c < 0 || c >= classes) {
                throw HttpError.badRequest(
                        "field 'class' must be 0.." + (classes - 1) + " (or a class name), got " + echo(node));
            }
            return (int) c;
        }
        if (node.isTextual()) {
            List<String> names = served.classNames();
            for (int c = 0; c < names.size(); c++) {
                if (names.get(c).equalsIgnoreCase(node.asText().strip())) {
                    return c;
                }
            }
            throw HttpError.badRequest(
                    "field 'class': no class named " + echo(node) + "; the classes are " + String.join(", ", names));
        }
        throw HttpError.badRequest("field 'class' must be a class index 0.." + (classes - 1)
                + ", a class name or null, got " + echo(node));
    }

    private static double number(
            JsonNode json, String field, double fallback, double lowerBound, double max, boolean lowerInclusive) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        String range = (lowerInclusive ? "[" : "(") + fmt(lowerBound) + ", " + fmt(max) + "]";
        if (!n.isNumber()) {
            throw HttpError.badRequest("field '" + field + "' must be a number in " + range + ", got " + echo(n));
        }
        double v = n.asDouble();
        boolean aboveLower = lowerInclusive ? v >= lowerBound : v > lowerBound;
        if (!Double.isFinite(v) || !aboveLower || v > max) {
            throw HttpError.badRequest(
                    "field '" + field + "' must be a finite number in " + range + ", got " + echo(n));
        }
        return v;
    }

    private static long integer(JsonNode json, String field, long fallback, long min, long max) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
            throw HttpError.badRequest(
                    "field '" + field + "' must be an integer " + min + ".." + max + ", got " + echo(n));
        }
        return n.asLong();
    }

    private static boolean bool(JsonNode json, String field, boolean fallback) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw HttpError.badRequest("field '" + field + "' must be true or false, got " + echo(n));
        }
        return n.asBoolean();
    }

    private static String text(JsonNode json, String field, String fallback) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isTextual()) {
            throw HttpError.badRequest("field '" + field + "' must be a string, got " + echo(n));
        }
        return n.asText().strip().toLowerCase(Locale.ROOT);
    }

    /** A value as the client sent it, shortened: an error never echoes a long field back. */
    private static String echo(JsonNode n) {
        return Excerpt.of(String.valueOf(n));
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
