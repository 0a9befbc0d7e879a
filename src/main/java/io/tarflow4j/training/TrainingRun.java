package io.tarflow4j.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.bench.PeakRss;
import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.io.AtomicFiles;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.ReferenceKeys;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.Runtime;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A whole training run: the run folder, the model (fresh or resumed), the training loop with
 * progress, metrics, periodic samples, checkpoints and evaluations, and at the end the final
 * checkpoint, the sample figure and the test bits/dim.
 *
 * <p>Run folder contents: {@value TrainingCheckpoint#FILE} (and {@value TrainingCheckpoint#PREVIOUS}),
 * {@value MetricsLog#FILE}, {@code samples/step-NNNNNNN.png} every {@code sampleEvery} steps,
 * {@value #FIGURE} and {@value #BPD} at the end.
 *
 * <p>With a time budget ({@code minutes}) the total number of steps, which the cosine schedule
 * needs, follows the measured speed (see {@link StepBudget}); the checkpoint records the total
 * at the time it was written, and a resumed time-budgeted run continues with that total fixed.
 * Exact resumption (identical losses) holds for runs with a step count.
 */
public final class TrainingRun {
    /** The final sample figure's file name. */
    public static final String FIGURE = "samples.png";
    /** The test bits/dim file name. */
    public static final String BPD = "bpd.json";
    /** Seed of the evaluation's dequantisation noise. */
    public static final long EVAL_SEED = 0;
    /** Seed of the sample figures' noise. */
    public static final long SAMPLE_SEED = 1234;

    private static final double LN2 = Math.log(2);
    private static final double NATS_OFFSET = 0.5 * Math.log(2 * Math.PI) + Math.log(128);

    private final TrainingOptions options;
    private final ImageDataset train;
    private final ImageDataset test;
    private final Path dir;
    private final ProgressLine progress;
    /** Test hook handed to the trainer. */
    java.util.function.BiFunction<Long, org.bytedeco.pytorch.Tensor, org.bytedeco.pytorch.Tensor> inputHook;

    /**
     * A run of {@code options} (already {@linkplain #resolve resolved}) on the given data,
     * writing into {@code dir} (see {@link RunFolder}).
     *
     * @param test test images for the bits/dim evaluations, or null for none
     * @param log where progress goes (stderr)
     * @param inPlace refresh the progress line in place (a terminal)
     */
    public TrainingRun(TrainingOptions options, ImageDataset train, ImageDataset test, Path dir, PrintStream log,
            boolean inPlace) {
        this.options = options;
        this.train = train;
        this.test = test;
        this.dir = dir;
        this.progress = new ProgressLine(log, inPlace);
    }

    /**
     * What a run produced.
     *
     * @param dir the run folder
     * @param step the last step trained
     * @param totalSteps the schedule's total
     * @param lastLoss the loss of the last step
     * @param testBpd the final test bits/dim, NaN without test data
     * @param elapsedSeconds training time, over all resumed parts
     * @param imagesPerSecond training throughput of this process (wall time, all its steps)
     * @param checkpoint the checkpoint file
     * @param figure the sample figure
     */
    public record Summary(Path dir, long step, long totalSteps, double lastLoss, double testBpd,
            double elapsedSeconds, double imagesPerSecond, Path checkpoint, Path figure) {}

    /**
     * The options a run really uses: {@code requested} itself for a new run; for
     * {@code --resume}, the architecture, data and recipe recorded in the checkpoint, with the
     * total steps of {@code requested} (when it gives steps) and its run-time settings (threads,
     * device, intervals, evaluations, non-finite handling).
     */
    public static TrainingOptions resolve(TrainingOptions requested) throws IOException {
        if (requested.resume() == null) {
            return requested;
        }
        Path file = requested.resume().resolve(TrainingCheckpoint.FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--resume " + requested.resume() + ": no " + TrainingCheckpoint.FILE
                    + " there (expected the folder of an earlier 'tarflow train' run)");
        }
        Map<String, String> m;
        try (SafetensorsFile f = Safetensors.read(file)) {
            m = f.metadata();
        }
        if (!TrainingCheckpoint.FORMAT.equals(m.get("format"))) {
            throw new IOException(file + " is not a tarflow4j training checkpoint; only 'tarflow train' runs can be resumed");
        }
        try {
            TarFlowConfig c = ReferenceKeys.toConfig(m);
            long total = requested.steps() > 0 ? requested.steps() : Long.parseLong(m.get("total_steps"));
            return TrainingOptions.builder(Preset.FMNIST_SMALL).preset(m.getOrDefault("preset", "custom"))
                    .data(m.get("dataset")).testData(emptyToNull(m.get("test_dataset")))
                    .imageSize(c.imageSize()).channels(c.inChannels()).patchSize(c.patchSize()).width(c.width())
                    .blocks(c.numBlocks()).layersPerBlock(c.layersPerBlock().get(0)).headDim(c.headDim())
                    .nvp(c.nvp()).conditional(c.conditional()).steps(total).resume(requested.resume())
                    .seed(Long.parseLong(m.get("seed"))).batch(Integer.parseInt(m.get("batch")))
                    .lr(Double.parseDouble(m.get("lr"))).noise(NoiseSpec.parse(m.get("noise")))
                    .dropLabel(Double.parseDouble(m.get("drop_label")))
                    .warmupSteps(Long.parseLong(m.get("warmup")))
                    .weightDecay(Double.parseDouble(m.get("weight_decay")))
                    .betas(Double.parseDouble(m.get("beta1")), Double.parseDouble(m.get("beta2")))
                    .gradClip(Double.parseDouble(m.get("grad_clip")))
                    .emaDecay(Double.parseDouble(m.get("ema_decay")))
                    .flip(Boolean.parseBoolean(m.get("flip")))
                    .sampleEvery(requested.sampleEvery()).checkpointEvery(requested.checkpointEvery())
                    .evalAt(requested.evalAt().isEmpty() ? parseSteps(m.getOrDefault("eval_at", "")) : requested.evalAt()).evalBatch(requested.evalBatch()).logEvery(requested.logEvery())
                    .threads(requested.threads()).device(requested.device())
                    .skipNonFinite(requested.skipNonFinite()).stopAfter(requested.stopAfter())
                    .build();
        } catch (NullPointerException | NumberFormatException e) {
            throw new IOException(file + ": training metadata is incomplete or malformed: " + e, e);
        }
    }

    /** Opens a dataset spec brought to the options' image size and channels. */
    public static ImageDataset openData(String spec, TrainingOptions o) throws IOException {
        return Datasets.open(spec, DataOptions.defaults().withImageSize(o.imageSize()).withChannels(o.channels()));
    }

    /** Trains, then writes the final outputs. */
    public Summary run() throws IOException {
        TrainingOptions o = options;
        Runtime.setThreads(o.threads());
        Device device = Runtime.device(o.device());
        if (o.conditional() && !train.hasLabels()) {
            throw new IllegalArgumentException("--data " + o.data() + " has no labels: a class-conditional model"
                    + " needs labelled data (pass --unconditional)");
        }
        TarFlowConfig config = new TarFlowConfig(train.channels(), train.height(), o.patchSize(), o.width(),
                Collections.nCopies(o.blocks(), o.layersPerBlock()), o.headDim(), 4, o.nvp(),
                o.conditional() ? train.numClasses() : 0);
        if (train.height() != train.width()) {
            throw new IllegalArgumentException("--data " + o.data() + " has " + train.height() + "x" + train.width()
                    + " images; TarFlow needs square images (pass --image-size)");
        }
        Runtime.seed(o.seed());
        TarFlow model = new TarFlow(config, device, ScalarType.Float);
        try (Trainer trainer = new Trainer(model, o)) {
            trainer.inputHook = inputHook;
            long step = 0;
            double elapsedBefore = 0;
            if (o.resume() != null) {
                TrainingCheckpoint.Contents ck = TrainingCheckpoint.load(dir.resolve(TrainingCheckpoint.FILE));
                if (!ck.config().equals(config)) {
                    throw new IllegalArgumentException("--resume " + dir + ": the checkpoint's model ("
                            + ck.config().describe() + ") does not fit the data (" + config.describe() + ")");
                }
                model.loadState(ck.model());
                if (trainer.ema() != null) {
                    trainer.ema().load(ck.ema());
                }
                trainer.optimizer().loadState(ck.optimizerState());
                step = ck.step();
                elapsedBefore = Double.parseDouble(ck.get("elapsed_s"));
                if (o.steps() <= step) {
                    throw new IllegalArgumentException("--steps " + o.steps() + " is the total, and the checkpoint in "
                            + dir + " is already at step " + step + "; give a larger --steps to continue");
                }
            }
            progress.message("tarflow train: " + config.describe() + ", " + String.format("%,d", config.parameterCount())
                    + " parameters");
            progress.message("  data " + o.data() + " (" + train.size() + " images), batch " + o.batch() + ", lr "
                    + o.lr() + ", warmup " + o.warmupSteps() + ", noise " + o.noise()
                    + (config.conditional() ? ", label drop " + o.dropLabel() : "") + ", seed " + o.seed()
                    + ", threads " + o.threads() + ", " + o.device());
            progress.message("  " + (o.timeBudgeted() ? "time budget " + o.minutes() + " min" : "steps " + o.steps())
                    + (step > 0 ? ", resuming after step " + step : "") + "; writing to " + dir);
            return loop(trainer, step, elapsedBefore);
        }
    }

    private Summary loop(Trainer trainer, long startStep, double elapsedBefore) throws IOException {
        TrainingOptions o = options;
        StepBudget budget = o.timeBudgeted() ? new StepBudget(o.minutes(), o.warmupSteps(), startStep) : null;
        long step = startStep;
        long t0 = System.nanoTime();
        long windowStart = t0;
        long windowStep = step;
        boolean reported = false;
        double lastLoss = Double.NaN;
        double ips = Double.NaN;
        List<ObjectNode> evaluations = new ArrayList<>();
        Files.createDirectories(dir);
        try (MetricsLog metrics = MetricsLog.open(dir, startStep);
                BatchLoader loader = BatchLoader.builder(train).batchSize(o.batch()).seed(o.seed()).flip(o.flip())
                        .startStep(startStep).build()) {
            long stopAfter = o.stopAfter() > 0 ? o.stopAfter() : Long.MAX_VALUE;
            while (step < (budget == null ? o.steps() : budget.total()) && step < stopAfter) {
                long k = step + 1;
                LearningRateSchedule schedule = new LearningRateSchedule(o.lr(), o.warmupSteps(),
                        budget == null ? o.steps() : budget.total());
                Batch batch = loader.next();
                Trainer.StepResult r;
                try {
                    r = trainer.step(k, batch, schedule);
                } catch (NonFiniteLossException e) {
                    ObjectNode rec = MetricsLog.record("stopped");
                    rec.put("step", k);
                    rec.put("reason", e.getMessage());
                    metrics.write(rec);
                    progress.finish();
                    throw new NonFiniteLossException(k, e.getMessage() + "; the last good checkpoint ("
                            + dir.resolve(TrainingCheckpoint.FILE) + ", if any) is unchanged");
                }
                step = k;
                long now = System.nanoTime();
                double elapsed = elapsedBefore + (now - t0) / 1e9;
                if (budget != null) {
                    budget.record(step, now, elapsed);
                    if (!reported && step >= Math.max(o.warmupSteps(), 20)) {
                        reported = true;
                        progress.message(String.format("time budget: %.1f ms/step measured after warm-up, about %d steps"
                                + " fit (the total follows the measured speed)", budget.stepSeconds() * 1000, budget.total()));
                    }
                }
                long total = budget == null ? o.steps() : budget.total();
                if (r.skipped()) {
                    ObjectNode rec = MetricsLog.record("skip");
                    rec.put("step", step);
                    rec.put("loss", r.loss());
                    rec.put("grad_norm", r.gradNorm());
                    metrics.write(rec);
                    progress.message("step " + step + ": non-finite loss " + r.loss() + " or gradient norm "
                            + r.gradNorm() + ", step skipped (--skip-nonfinite)");
                } else {
                    lastLoss = r.loss();
                }
                long shownTotal = total;
                boolean logged = step % o.logEvery() == 0 || step == total;
                double windowSeconds = (now - windowStart) / 1e9;
                double windowIps = (step - windowStep) * (double) o.batch() / Math.max(windowSeconds, 1e-9);
                if (logged) {
                    ips = windowIps;
                    ObjectNode rec = MetricsLog.record("step");
                    rec.put("step", step);
                    rec.put("loss", r.loss());
                    rec.put("bpd_estimate", bpdEstimate(r.loss()));
                    rec.put("lr", r.lr());
                    rec.put("grad_norm", r.gradNorm());
                    rec.put("images_per_s", round(windowIps));
                    rec.put("elapsed_s", round(elapsed));
                    metrics.write(rec);
                    windowStart = now;
                    windowStep = step;
                }
                double eta = (shownTotal - step) * (now - t0) / 1e9 / Math.max(1, step - startStep);
                progress.step(String.format("step %d/%d  loss %.4f  bpd~%.3f  lr %.2e  %.0f img/s  elapsed %s  ETA %s",
                        step, shownTotal, r.loss(), bpdEstimate(r.loss()), r.lr(), Double.isNaN(ips) ? windowIps : ips,
                        ProgressLine.duration(elapsed), ProgressLine.duration(eta)), logged);
                boolean last = step == total;
                if (!last && step % o.checkpointEvery() == 0) {
                    TrainingCheckpoint.save(dir, trainer, metadata(step, shownTotal, elapsed));
                }
                if (!last && o.sampleEvery() > 0 && step % o.sampleEvery() == 0) {
                    Path png = dir.resolve("samples").resolve(String.format("step-%07d.png", step));
                    Files.createDirectories(png.getParent());
                    SampleFigure.write(png, trainer.evaluationModel(), o.noise(), false, SAMPLE_SEED);
                    progress.message("step " + step + ": samples written to " + png);
                }
                if (test != null && o.evalAt().contains(step)) {
                    evaluations.add(evaluate(trainer, step, metrics));
                }
            }
            double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
            double ipsAll = (step - startStep) * (double) o.batch() / ((System.nanoTime() - t0) / 1e9);
            progress.finish();
            Path ckpt = dir.resolve(TrainingCheckpoint.FILE);
            long recordedTotal = budget == null ? o.steps() : Math.max(step, budget.total());
            TrainingCheckpoint.save(dir, trainer, metadata(step, recordedTotal, elapsed));
            if (step < recordedTotal) {
                progress.message("stopped after step " + step + " of " + recordedTotal + " (--stop-after); checkpoint "
                        + ckpt + "; continue with: tarflow train --resume " + dir);
                return new Summary(dir, step, recordedTotal, lastLoss, Double.NaN, elapsed, ipsAll, ckpt, null);
            }
            progress.message(String.format("trained %d steps in %s (%.1f images/s in this process, peak RSS %.0f MiB)",
                    step, ProgressLine.duration(elapsed), ipsAll, PeakRss.megabytes()));
            progress.message("checkpoint: " + ckpt);
            TarFlow evalModel = trainer.evaluationModel();
            Path figure = dir.resolve(FIGURE);
            List<String> panels = SampleFigure.write(figure, evalModel, o.noise(), true, SAMPLE_SEED);
            progress.message("samples: " + figure + " (panels: " + String.join(" | ", panels) + ")");
            double testBpd = Double.NaN;
            if (test != null) {
                final long lastStep = step;
                ObjectNode last = evaluations.stream().filter(e -> e.get("step").asLong() == lastStep).findFirst()
                        .orElse(null);
                if (last == null) {
                    last = evaluate(trainer, step, metrics);
                    evaluations.add(last);
                }
                testBpd = last.get("test_bpd").asDouble();
                writeBpd(step, last, evaluations);
                progress.message(String.format("test bits/dim: %.4f (exact likelihood of uniformly dequantised %s; %s)",
                        testBpd, o.testData() == null ? "test images" : o.testData(), dir.resolve(BPD)));
            }
            return new Summary(dir, step, recordedTotal, lastLoss, testBpd, elapsed, ipsAll, ckpt, figure);
        }
    }

    private ObjectNode evaluate(Trainer trainer, long step, MetricsLog metrics) throws IOException {
        progress.finish();
        long t = System.nanoTime();
        TarFlow model = trainer.evaluationModel();
        DatasetBpd.Result r = DatasetBpd.evaluate(model, test, options.evalBatch(), EVAL_SEED, 1,
                model.config().conditional(), null);
        double seconds = (System.nanoTime() - t) / 1e9;
        ObjectNode rec = MetricsLog.record("eval");
        rec.put("step", step);
        rec.put("test_bpd", r.mean());
        rec.put("standard_error", r.standardError());
        rec.put("images", r.images());
        rec.put("seconds", round(seconds));
        metrics.write(rec);
        progress.message(String.format("step %d: test bits/dim %.4f +- %.4f on %d images (%.1f s)", step, r.mean(),
                r.standardError(), r.images(), seconds));
        return rec;
    }

    private void writeBpd(long step, ObjectNode last, List<ObjectNode> evaluations) throws IOException {
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
        o.put("method", "exact likelihood of the 8-bit test images, uniformly dequantised (bins of 1/128,"
                + " seed " + EVAL_SEED + "), one draw per image"
                + (options.noise().gaussian() ? "; the model was trained on Gaussian-noised images, so this"
                        + " is the likelihood its density gives dequantised data, not a noisy-data figure" : ""));
        ArrayNode all = o.putArray("evaluations");
        evaluations.forEach(all::add);
        AtomicFiles.write(dir.resolve(BPD), json.writerWithDefaultPrettyPrinter().writeValueAsString(o)
                .getBytes(StandardCharsets.UTF_8));
    }

    private Map<String, String> metadata(long step, long total, double elapsed) {
        TrainingOptions o = options;
        Map<String, String> m = new LinkedHashMap<>();
        m.put("step", Long.toString(step));
        m.put("total_steps", Long.toString(total));
        m.put("preset", o.preset());
        m.put("seed", Long.toString(o.seed()));
        m.put("batch", Integer.toString(o.batch()));
        m.put("lr", Double.toString(o.lr()));
        m.put("warmup", Long.toString(o.warmupSteps()));
        m.put("noise", o.noise().toString());
        m.put("drop_label", Double.toString(o.dropLabel()));
        m.put("weight_decay", Double.toString(o.weightDecay()));
        m.put("beta1", Double.toString(o.beta1()));
        m.put("beta2", Double.toString(o.beta2()));
        m.put("grad_clip", Double.toString(o.gradClip()));
        m.put("ema_decay", Double.toString(o.emaDecay()));
        m.put("flip", Boolean.toString(o.flip()));
        m.put("minutes", Double.toString(o.minutes()));
        m.put("class_names", String.join(",", train.classNames()));
        m.put("dataset", o.data());
        m.put("test_dataset", o.testData() == null ? "" : o.testData());
        m.put("elapsed_s", Double.toString(round(elapsed)));
        m.put("threads", Integer.toString(o.threads()));
        m.put("eval_at", String.join(",", o.evalAt().stream().map(String::valueOf).toList()));
        return m;
    }

    private static double bpdEstimate(double loss) {
        return (loss + NATS_OFFSET) / LN2;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
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

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
