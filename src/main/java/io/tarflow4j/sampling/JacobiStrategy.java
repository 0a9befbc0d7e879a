package io.tarflow4j.sampling;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GS-Jacobi sampling strategy: one {@link BlockStrategy} per flow block, indexed in the model's
 * forward order (block 0 is the first block of {@code TarFlow.forward} and the last one sampling
 * inverts), plus optional per-block calibration metrics kept for the record.
 *
 * <p>Strategy file format (JSON, written by {@code tarflow calibrate}, editable by hand):
 *
 * <pre>{@code
 * {
 *   "format": "tarflow4j-gs-jacobi-strategy",
 *   "version": 1,
 *   "blocks": [
 *     {"block": 0, "segments": 4, "max_iterations": 12, "guess": "input", "tolerance": 0.001,
 *      "metrics": {"crm": 3.2, "crm_percent": 61.0, "igm_zeros": 4.1, "igm_input": 0.8}},
 *     {"block": 1, "segments": 1, "max_iterations": 6, "guess": "input", "tolerance": 0.001}
 *   ]
 * }
 * }</pre>
 *
 * Every block of the model must appear once, in order, with {@code block} equal to its index.
 * {@code segments} >= 1 (Gauss-Seidel segments of the block's sequence; T-1 or more means token by
 * token), {@code max_iterations} >= 1 (Jacobi passes per segment), {@code guess} {@code zeros} or
 * {@code input}, {@code tolerance} >= 0 (largest change of any element at which a segment stops;
 * 0 runs every pass). {@code metrics} is an optional object of numbers that sampling ignores.
 * Other keys are refused, so that a misspelt setting is not silently ignored.
 *
 * @param blocks per-block strategies in forward order
 * @param metrics per-block calibration metrics (same length, possibly empty maps)
 */
public record JacobiStrategy(List<BlockStrategy> blocks, List<Map<String, Double>> metrics) {
    /** The {@code format} value of strategy files. */
    public static final String FORMAT = "tarflow4j-gs-jacobi-strategy";
    /** Segments per block of the default strategy. */
    public static final int DEFAULT_SEGMENTS = 8;
    /** Most Jacobi passes per segment of the default strategy (none: the segment length caps them). */
    public static final int DEFAULT_ITERATIONS = Integer.MAX_VALUE;
    /** Tolerance of the default strategy. */
    public static final double DEFAULT_TOLERANCE = 1e-3;

    private static final Set<String> TOP_KEYS = Set.of("format", "version", "blocks");
    private static final Set<String> BLOCK_KEYS =
            Set.of("block", "segments", "max_iterations", "guess", "tolerance", "metrics");

    /** Copies and validates. */
    public JacobiStrategy {
        if (blocks == null || blocks.isEmpty()) {
            throw new IllegalArgumentException("a strategy needs at least one block");
        }
        blocks = List.copyOf(blocks);
        if (metrics == null) {
            metrics = Collections.nCopies(blocks.size(), Map.of());
        }
        if (metrics.size() != blocks.size()) {
            throw new IllegalArgumentException(
                    "metrics for " + metrics.size() + " blocks, strategy has " + blocks.size());
        }
        List<Map<String, Double>> copy = new ArrayList<>();
        for (Map<String, Double> m : metrics) {
            copy.add(Collections.unmodifiableMap(new LinkedHashMap<>(m)));
        }
        metrics = List.copyOf(copy);
    }

    /** The same strategy for each of {@code numBlocks} blocks. */
    public static JacobiStrategy uniform(int numBlocks, BlockStrategy each) {
        return new JacobiStrategy(Collections.nCopies(numBlocks, each), null);
    }

    /**
     * The strategy used when none is given: {@link #DEFAULT_SEGMENTS} segments per block, no
     * pass limit below the segment length (so the result is never worse than the tolerance
     * allows), the block input as initial guess and tolerance {@link #DEFAULT_TOLERANCE}, for
     * every block. Calibration of a trained model chose 8 segments for its tough blocks and
     * needed 9-17 whole-sequence passes for the others; see docs/sampling.md.
     */
    public static JacobiStrategy defaultFor(int numBlocks, int tokens) {
        int segments = Math.max(1, Math.min(DEFAULT_SEGMENTS, tokens - 1));
        return uniform(
                numBlocks, new BlockStrategy(segments, DEFAULT_ITERATIONS, InitialGuess.INPUT, DEFAULT_TOLERANCE));
    }

    /** The strategy of block {@code i} (forward order). */
    public BlockStrategy block(int i) {
        return blocks.get(i);
    }

    /** Number of blocks. */
    public int size() {
        return blocks.size();
    }

    /** Throws unless this strategy has exactly {@code numBlocks} blocks. */
    public void requireBlocks(int numBlocks) {
        if (blocks.size() != numBlocks) {
            throw new IllegalArgumentException(
                    "the GS-Jacobi strategy has " + blocks.size() + " blocks, the model has " + numBlocks);
        }
    }

    /** The strategy as JSON text (the file format above). */
    public String toJson() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        ArrayNode arr = root.putArray("blocks");
        for (int i = 0; i < blocks.size(); i++) {
            BlockStrategy b = blocks.get(i);
            ObjectNode o = arr.addObject();
            o.put("block", i);
            o.put("segments", b.segments());
            o.put("max_iterations", b.maxIterations());
            o.put("guess", b.guess().jsonName());
            o.put("tolerance", b.tolerance());
            if (!metrics.get(i).isEmpty()) {
                ObjectNode m = o.putObject("metrics");
                metrics.get(i).forEach(m::put);
            }
        }
        try {
            return mapper.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the strategy file atomically. */
    public void write(Path path) throws IOException {
        AtomicFiles.write(path, toJson().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads a strategy file.
     *
     * @throws IOException naming the file and the problem (missing file, not JSON, wrong format,
     *     missing, unknown or invalid keys)
     */
    public static JacobiStrategy read(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "strategy file not found");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(path));
        } catch (JsonProcessingException e) {
            throw new IOException(path + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
    }

    /** Parses the JSON tree of a strategy file. */
    static JacobiStrategy parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("expected a JSON object with \"format\": \"" + FORMAT + "\"");
        }
        unknownKeys(root, TOP_KEYS, "top level");
        if (!FORMAT.equals(root.path("format").asText(null))) {
            throw new IllegalArgumentException("\"format\" must be \"" + FORMAT + "\"");
        }
        if (!root.has("version") || root.get("version").asInt(-1) != 1) {
            throw new IllegalArgumentException("\"version\" must be 1");
        }
        JsonNode arr = root.get("blocks");
        if (arr == null || !arr.isArray() || arr.isEmpty()) {
            throw new IllegalArgumentException("\"blocks\" must be a non-empty array");
        }
        List<BlockStrategy> blocks = new ArrayList<>();
        List<Map<String, Double>> metrics = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode b = arr.get(i);
            String where = "blocks[" + i + "]";
            if (!b.isObject()) {
                throw new IllegalArgumentException(where + " must be an object");
            }
            unknownKeys(b, BLOCK_KEYS, where);
            if (integer(b, "block", where) != i) {
                throw new IllegalArgumentException(where + ": \"block\" must be " + i + " (blocks in order)");
            }
            try {
                blocks.add(new BlockStrategy(
                        integer(b, "segments", where),
                        integer(b, "max_iterations", where),
                        InitialGuess.parse(text(b, "guess", where)),
                        number(b, "tolerance", where)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
            Map<String, Double> m = new LinkedHashMap<>();
            JsonNode mn = b.get("metrics");
            if (mn != null) {
                if (!mn.isObject()) {
                    throw new IllegalArgumentException(where + ": \"metrics\" must be an object of numbers");
                }
                for (Map.Entry<String, JsonNode> e : mn.properties()) {
                    if (!e.getValue().isNumber()) {
                        throw new IllegalArgumentException(where + ": metric \"" + e.getKey() + "\" must be a number");
                    }
                    m.put(e.getKey(), e.getValue().asDouble());
                }
            }
            metrics.add(m);
        }
        return new JacobiStrategy(blocks, metrics);
    }

    private static void unknownKeys(JsonNode o, Set<String> allowed, String where) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException(where + ": unknown key \"" + k + "\" (allowed: "
                        + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private static int integer(JsonNode o, String key, String where) {
        JsonNode v = o.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be an integer");
        }
        return v.asInt();
    }

    private static double number(JsonNode o, String key, String where) {
        JsonNode v = o.get(key);
        if (v == null || !v.isNumber()) {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be a number");
        }
        return v.asDouble();
    }

    private static String text(JsonNode o, String key, String where) {
        JsonNode v = o.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be a string");
        }
        return v.asText();
    }
}
