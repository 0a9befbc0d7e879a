package io.tarflow4j.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Training metrics as JSON lines ({@code metrics.jsonl}): one object per logged step
 * ({@code "event": "step"}), evaluation ({@code "eval"}) or skipped step ({@code "skip"}), each
 * flushed as it is written.
 */
public final class MetricsLog implements AutoCloseable {
    /** The file name in a run folder. */
    public static final String FILE = "metrics.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BufferedWriter out;

    private MetricsLog(BufferedWriter out) {
        this.out = out;
    }

    /**
     * Opens the log of a run folder for appending. When resuming from {@code resumedStep}, lines
     * of later steps (written after that checkpoint by the interrupted run) are removed first so
     * the log describes one consistent history.
     */
    public static MetricsLog open(Path dir, long resumedStep) throws IOException {
        Path file = dir.resolve(FILE);
        if (resumedStep > 0 && Files.exists(file)) {
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode step = readLine(file, line).get("step");
                if (step == null || step.asLong() <= resumedStep) {
                    kept.add(line);
                }
            }
            AtomicFiles.write(
                    file, (String.join("\n", kept) + (kept.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
        }
        return new MetricsLog(Files.newBufferedWriter(
                file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    private static JsonNode readLine(Path file, String line) throws IOException {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new IOException(file + ": not a JSON line: " + line, e);
        }
    }

    /** A new, empty record for {@link #write}. */
    public static ObjectNode record(String event) {
        ObjectNode o = JSON.createObjectNode();
        o.put("event", event);
        return o;
    }

    /** Appends one record and flushes. */
    public void write(ObjectNode record) throws IOException {
        out.write(record.toString());
        out.newLine();
        out.flush();
    }

    /** Every record of a metrics file, in order (for reports and tests). */
    public static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> records = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                records.add(readLine(file, line));
            }
        }
        return records;
    }

    /** Closes the file. */
    @Override
    public void close() throws IOException {
        out.close();
    }
}
