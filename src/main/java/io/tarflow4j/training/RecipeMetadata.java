package io.tarflow4j.training;

import io.tarflow4j.io.Excerpt;
import io.tarflow4j.model.TarFlowConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The training recipe as a checkpoint's metadata, and back: each recorded setting once, with its
 * key, how it is written and how {@code --resume} takes it back. The architecture travels as the
 * model's reference keys ({@link io.tarflow4j.model.ReferenceKeys}); the run state beside the
 * recipe is {@code step}, {@code total_steps}, {@code class_names} and {@code elapsed_s}.
 *
 * <p>A resume restores the recorded recipe (data, seed, batch, optimizer, noise, ...), keeps the
 * run-time settings it is given (threads, device, intervals, non-finite handling), and merges
 * three: evaluation steps (the requested ones, else the recorded), activation checkpointing (on
 * if either says so) and sample figures (off if either says so), so that a resumed paper-size run
 * neither runs out of memory nor starts hours of sampling its first run had turned off.
 */
final class RecipeMetadata {
    private RecipeMetadata() {}

    /** How a resume treats a recorded value: sets it on the builder, given what was requested. */
    @FunctionalInterface
    private interface Restore {
        void apply(TrainingOptions.Builder b, String recorded, TrainingOptions requested);
    }

    /**
     * One recorded setting.
     *
     * @param key the metadata key
     * @param absent the value assumed when an older checkpoint lacks the key (null: required)
     * @param write the recorded text of the setting
     * @param restore how a resume takes it back (null: recorded for reading only)
     */
    private record Setting(String key, String absent, Function<TrainingOptions, String> write, Restore restore) {}

    private static Setting restored(
            String key, Function<TrainingOptions, String> write, BiConsumer<TrainingOptions.Builder, String> restore) {
        return new Setting(key, null, write, (b, v, requested) -> restore.accept(b, v));
    }

    private static Setting recorded(String key, Function<TrainingOptions, String> write) {
        return new Setting(key, null, write, null);
    }

    private static final List<Setting> SETTINGS = List.of(
            new Setting("preset", "custom", TrainingOptions::preset, (b, v, r) -> b.preset(v)),
            restored("seed", o -> Long.toString(o.seed()), (b, v) -> b.seed(Long.parseLong(v))),
            restored("batch", o -> Integer.toString(o.batch()), (b, v) -> b.batch(Integer.parseInt(v))),
            restored("lr", o -> Double.toString(o.lr()), (b, v) -> b.lr(Double.parseDouble(v))),
            restored("warmup", o -> Long.toString(o.warmupSteps()), (b, v) -> b.warmupSteps(Long.parseLong(v))),
            restored("noise", o -> o.noise().toString(), (b, v) -> b.noise(NoiseSpec.parse(v))),
            restored("drop_label", o -> Double.toString(o.dropLabel()), (b, v) -> b.dropLabel(Double.parseDouble(v))),
            restored(
                    "weight_decay",
                    o -> Double.toString(o.weightDecay()),
                    (b, v) -> b.weightDecay(Double.parseDouble(v))),
            restored("beta1", o -> Double.toString(o.beta1()), (b, v) -> b.beta1(Double.parseDouble(v))),
            restored("beta2", o -> Double.toString(o.beta2()), (b, v) -> b.beta2(Double.parseDouble(v))),
            restored("grad_clip", o -> Double.toString(o.gradClip()), (b, v) -> b.gradClip(Double.parseDouble(v))),
            restored("ema_decay", o -> Double.toString(o.emaDecay()), (b, v) -> b.emaDecay(Double.parseDouble(v))),
            restored("flip", o -> Boolean.toString(o.flip()), (b, v) -> b.flip(Boolean.parseBoolean(v))),
            new Setting(
                    "samples",
                    "true",
                    o -> Boolean.toString(o.samples()),
                    (b, v, r) -> b.samples(r.samples() && Boolean.parseBoolean(v))),
            new Setting(
                    "activation_checkpointing",
                    "false",
                    o -> Boolean.toString(o.activationCheckpointing()),
                    (b, v, r) -> b.activationCheckpointing(r.activationCheckpointing() || Boolean.parseBoolean(v))),
            recorded("minutes", o -> Double.toString(o.minutes())),
            restored("dataset", TrainingOptions::data, (b, v) -> b.data(v)),
            new Setting(
                    "test_dataset",
                    "",
                    o -> o.testData() == null ? "" : o.testData(),
                    (b, v, r) -> b.testData(v.isEmpty() ? null : v)),
            recorded("threads", o -> Integer.toString(o.threads())),
            recorded("precision", o -> o.precision().toString()),
            new Setting(
                    "eval_at",
                    "",
                    o -> String.join(
                            ",", o.evalAt().stream().map(String::valueOf).toList()),
                    (b, v, r) -> b.evalAt(r.evalAt().isEmpty() ? parseSteps(v) : r.evalAt())));

    /**
     * The metadata of a checkpoint written after {@code step} of {@code total} (reference keys
     * not included: {@link TrainingCheckpoint#save} adds them).
     */
    static Map<String, String> write(
            TrainingOptions o, long step, long total, double elapsedSeconds, List<String> classNames) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("step", Long.toString(step));
        m.put("total_steps", Long.toString(total));
        for (Setting s : SETTINGS) {
            m.put(s.key(), s.write().apply(o));
        }
        m.put("class_names", String.join(",", classNames));
        m.put("elapsed_s", Double.toString(StepLog.round(elapsedSeconds)));
        return m;
    }

    /**
     * The options of a resumed run: the recorded recipe and {@code architecture}, with the total
     * steps of {@code requested} (when it gives steps, else the recorded total) and its run-time
     * settings.
     *
     * @throws IllegalArgumentException naming a missing or malformed key, or a restored value the
     *     options refuse
     */
    static TrainingOptions restore(
            TrainingOptions requested, Map<String, String> recorded, TarFlowConfig architecture) {
        long total;
        String recordedTotal = value(recorded, "total_steps", null);
        try {
            total = requested.steps() > 0 ? requested.steps() : Long.parseLong(recordedTotal);
        } catch (NumberFormatException e) {
            throw malformed("total_steps", recordedTotal, e);
        }
        TrainingOptions.Builder b = requested.toBuilder()
                .steps(total)
                .imageSize(architecture.imageSize())
                .channels(architecture.inChannels())
                .patchSize(architecture.patchSize())
                .width(architecture.width())
                .layersPerBlock(architecture.layersPerBlock())
                .headDim(architecture.headDim())
                .nvp(architecture.nvp())
                .conditional(architecture.conditional());
        for (Setting s : SETTINGS) {
            if (s.restore() != null) {
                String v = value(recorded, s.key(), s.absent());
                try {
                    s.restore().apply(b, v, requested);
                } catch (NumberFormatException e) {
                    throw malformed(s.key(), v, e);
                }
            }
        }
        return b.build();
    }

    private static String value(Map<String, String> recorded, String key, String absent) {
        String v = recorded.getOrDefault(key, absent);
        if (v == null) {
            throw new IllegalArgumentException("training metadata lacks '" + key + "'");
        }
        return v;
    }

    private static IllegalArgumentException malformed(String key, String value, NumberFormatException e) {
        return new IllegalArgumentException(
                "training metadata '" + key + "' is malformed: '" + Excerpt.of(value) + "'", e);
    }

    private static List<Long> parseSteps(String csv) {
        List<Long> steps = new ArrayList<>();
        for (String part : csv.split(",")) {
            if (!part.isBlank()) {
                steps.add(Long.parseLong(part.strip()));
            }
        }
        return steps;
    }
}
