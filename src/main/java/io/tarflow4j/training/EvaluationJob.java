package io.tarflow4j.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.io.AtomicFiles;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.AllCores;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A run's test bits/dim (rank 0): after each step of {@code --eval-at} and at the end, each an
 * {@code eval} record in the metrics, all of them in {@value TrainingRun#BPD} at the end.
 */
final class EvaluationJob {
    private final ImageDataset test;
    private final TrainingOptions options;
    private final Path dir;
    private final ProgressLine progress;
    private final MetricsLog metrics;
    /** Whether other ranks wait meanwhile, so that their cores are free. */
    private final boolean borrowCores;

    private final List<ObjectNode> evaluations = new ArrayList<>();

    /**
     * @param borrowCores evaluate with all of the machine's cores (the other ranks of a
     *     data-parallel run wait at a barrier meanwhile, their cores idle)
     */
    EvaluationJob(
            ImageDataset test,
            TrainingOptions options,
            Path dir,
            ProgressLine progress,
            MetricsLog metrics,
            boolean borrowCores) {
        this.test = test;
        this.options = options;
        this.dir = dir;
        this.progress = progress;
        this.metrics = metrics;
        this.borrowCores = borrowCores;
    }

    /** What an evaluation will cost, from {@code imageSeconds}, a training step's time per image. */
    String estimate(double imageSeconds) {
        // an evaluation image costs a forward pass, about a third of a training step's
        return "test bits/dim on " + test.size() + " images about "
                + ProgressLine.duration(test.size() * imageSeconds / 3) + " each time";
    }

    /** Measures the test bits/dim after {@code step}. */
    void run(Trainer trainer, long step) throws IOException {
        progress.finish();
        long t = System.nanoTime();
        TarFlow model = trainer.evaluationModel();
        DatasetBpd.Result r;
        try (AllCores all = borrowCores ? AllCores.borrow() : null) {
            // given each image's label when the model and the data have them
            Likelihood kind =
                    model.config().conditional() && test.hasLabels() ? Likelihood.LABEL : Likelihood.UNCONDITIONAL;
            r = DatasetBpd.evaluate(
                    model,
                    test,
                    DatasetBpd.Options.of(options.evalBatch(), Dequantizer.uniform(TrainingRun.EVAL_SEED))
                            .withLikelihood(kind));
        }
        double seconds = (System.nanoTime() - t) / 1e9;
        ObjectNode rec = MetricsLog.record("eval");
        rec.put("step", step);
        rec.put("test_bpd", r.mean());
        rec.put("standard_error", r.standardError());
        rec.put("images", r.images());
        rec.put("seconds", StepLog.round(seconds));
        metrics.write(rec);
        progress.message(String.format(
                "step %d: test bits/dim %.4f +- %.4f on %d images (%.1f s)",
                step, r.mean(), r.standardError(), r.images(), seconds));
        evaluations.add(rec);
    }

    /**
     * The end of a run: evaluates {@code step} unless done already, writes {@value TrainingRun#BPD}
     * and returns the test bits/dim.
     */
    double finish(Trainer trainer, long step) throws IOException {
        if (evaluations.stream().noneMatch(e -> e.get("step").asLong() == step)) {
            run(trainer, step);
        }
        ObjectNode last = evaluations.stream()
                .filter(e -> e.get("step").asLong() == step)
                .findFirst()
                .orElseThrow();
        double testBpd = last.get("test_bpd").asDouble();
        writeBpd(step, last);
        progress.message(String.format(
                "test bits/dim: %.4f (exact likelihood of uniformly dequantised %s; %s)",
                testBpd,
                options.testData() == null ? "test images" : options.testData(),
                dir.resolve(TrainingRun.BPD)));
        return testBpd;
    }

    private void writeBpd(long step, ObjectNode last) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        o.put("test_bpd", last.get("test_bpd").asDouble());
        o.put("standard_error", last.get("standard_error").asDouble());
        o.put("images", last.get("images").asInt());
        o.put("step", step);
        o.put("dataset", options.testData());
        o.put("conditional", options.conditional());
        o.put("weights", options.emaDecay() > 0 ? "ema" : "model");
        o.put("training_noise", options.noise().toString());
        o.put(
                "method",
                "exact likelihood of the 8-bit test images, uniformly dequantised (bins of 1/128,"
                        + " seed " + TrainingRun.EVAL_SEED + "), one draw per image"
                        + (options.noise().gaussian()
                                ? "; the model was trained on Gaussian-noised images, so this"
                                        + " is the likelihood its density gives dequantised data, not a noisy-data figure"
                                : ""));
        ArrayNode all = o.putArray("evaluations");
        evaluations.forEach(all::add);
        AtomicFiles.write(
                dir.resolve(TrainingRun.BPD),
                json.writerWithDefaultPrettyPrinter().writeValueAsString(o).getBytes(StandardCharsets.UTF_8));
    }
}
