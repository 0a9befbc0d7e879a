package io.tarflow4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One benchmark's outcome: throughput from the median step time after warm-up, peak resident
 * memory, and the settings it ran with.
 *
 * @param name what was measured ({@code train}, {@code sample}, {@code bpd}, ...)
 * @param imagesPerStep images processed per timed step
 * @param stepMillis the timed steps' durations in milliseconds (warm-up excluded)
 * @param peakRssMb peak resident set size of the process in MiB
 * @param settings the configuration, for the report
 */
public record BenchResult(
        String name, int imagesPerStep, List<Double> stepMillis, double peakRssMb, Map<String, Object> settings) {

    /** Copies the lists. */
    public BenchResult {
        stepMillis = List.copyOf(stepMillis);
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        if (stepMillis.isEmpty()) {
            throw new IllegalArgumentException("no timed steps");
        }
    }

    /** Median step time in milliseconds. */
    public double msPerStep() {
        return median(stepMillis);
    }

    /** The median of non-empty {@code values} (the mean of the middle two for an even count). */
    public static double median(List<Double> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("no values");
        }
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** Images per second at the median step time. */
    public double imagesPerSecond() {
        return imagesPerStep * 1000.0 / msPerStep();
    }

    /** One JSON object with {@code images_per_s}, {@code ms_per_step}, {@code peak_rss_mb} and the settings. */
    public String toJson() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode o = mapper.createObjectNode();
        o.put("benchmark", name);
        o.put("images_per_s", round(imagesPerSecond()));
        o.put("ms_per_step", round(msPerStep()));
        o.put("peak_rss_mb", round(peakRssMb));
        o.put("timed_steps", stepMillis.size());
        o.set("settings", mapper.valueToTree(settings));
        return o.toString();
    }

    /** A human-readable summary. */
    public String describe() {
        return String.format(
                "%s: %.1f images/s, %.1f ms/step (median of %d), peak RSS %.0f MiB, %s",
                name, imagesPerSecond(), msPerStep(), stepMillis.size(), peakRssMb, settings);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
