package io.tarflow4j.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.bytedeco.pytorch.Tensor;

/** Checks a state dict (name to tensor) against the names and shapes a network expects. */
public final class StateDicts {
    private StateDicts() {}

    /**
     * Every problem of {@code given} against {@code expected}, one readable line each:
     * {@code missing NAME [shape]}, {@code NAME has shape [..], expected [..]}, {@code unexpected NAME}.
     *
     * @param optional names that may be absent
     * @param ignored names present in files that the network does not use (not reported)
     */
    public static List<String> problems(
            Map<String, long[]> expected,
            Map<String, long[]> given,
            Predicate<String> optional,
            Predicate<String> ignored) {
        List<String> problems = new ArrayList<>();
        TreeSet<String> unexpected = new TreeSet<>(given.keySet());
        for (var e : expected.entrySet()) {
            String name = e.getKey();
            unexpected.remove(name);
            long[] shape = given.get(name);
            if (shape == null) {
                if (!optional.test(name)) {
                    problems.add("missing " + name + " " + Arrays.toString(e.getValue()));
                }
            } else if (!Arrays.equals(shape, e.getValue())) {
                problems.add(
                        name + " has shape " + Arrays.toString(shape) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        unexpected.stream().filter(ignored.negate()).forEach(n -> problems.add("unexpected " + n));
        return problems;
    }

    /** The shapes of a state dict's tensors, by name in its order. */
    public static Map<String, long[]> shapes(Map<String, Tensor> state) {
        Map<String, long[]> out = new LinkedHashMap<>();
        state.forEach((name, t) -> out.put(name, Tensors.shape(t)));
        return out;
    }

    /**
     * The name of the first floating-point tensor holding a NaN or an infinity, or null when all
     * are finite.
     */
    public static String firstNonFinite(Map<String, Tensor> tensors) {
        try (NativeScope scope = NativeScope.open();
                GradMode g = GradMode.off()) {
            for (var e : tensors.entrySet()) {
                Tensor t = e.getValue();
                if (t.is_floating_point() && Tensors.item(t.isfinite().all()) == 0) {
                    return e.getKey();
                }
            }
            return null;
        }
    }

    /** The problems as one message, the first {@code shown} of them listed. */
    public static String summary(List<String> problems, int shown) {
        int n = Math.min(problems.size(), shown);
        return String.join("; ", problems.subList(0, n))
                + (problems.size() > n ? "; ... (" + problems.size() + " in all)" : "");
    }
}
