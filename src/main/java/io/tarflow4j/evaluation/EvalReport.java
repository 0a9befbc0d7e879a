package io.tarflow4j.evaluation;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/** Evaluation results as JSON files written atomically, by default next to the model file. */
public final class EvalReport {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private EvalReport() {}

    /** A new JSON object for a report, with the kind of evaluation, the model file and the time. */
    public static ObjectNode start(String evaluation, Path model) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("evaluation", evaluation);
        o.put("model", model.toAbsolutePath().normalize().toString());
        o.put("time", Instant.now().toString());
        return o;
    }

    /** {@code explicit} when given, else {@code fileName} in the model file's folder. */
    public static Path beside(Path model, Path explicit, String fileName) {
        if (explicit != null) {
            return explicit;
        }
        Path dir = model.toAbsolutePath().getParent();
        return dir == null ? Path.of(fileName) : dir.resolve(fileName);
    }

    /** Writes the object (pretty-printed, newline-terminated) to {@code path} atomically. */
    public static void write(Path path, ObjectNode report) throws IOException {
        byte[] bytes = (MAPPER.writeValueAsString(report) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        AtomicFiles.write(path, bytes);
    }

    /** The shared mapper (for arrays and nested objects). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }
}
