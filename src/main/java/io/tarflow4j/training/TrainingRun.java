package io.tarflow4j.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.bench.AvailableMemory;
import io.tarflow4j.bench.PeakRss;
import io.tarflow4j.checkpoint.ModelFileCheck;
import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.io.AtomicFiles;
import io.tarflow4j.io.Images;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.AllCores;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Runtime;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * {@value #FIGURE} and {@value #BPD} at the end, and {@value RunLock#FILE} (held by the process
 * running there).
 *
 * <p>With a time budget ({@code minutes}) the total number of steps, which the cosine schedule
 * needs, follows the measured speed (see {@link StepBudget}); the checkpoint records the total
 * at the time it was written, and a resumed time-budgeted run continues with that total fixed.
 * Exact resumption (identical losses) holds for runs with a step count.
 *
 * <p>Data-parallel (a {@link Distributed} group of W ranks, each running its own
 * {@code TrainingRun}): every rank builds (or loads from the same checkpoint) the model, then
 * takes rank 0's weights; each trains on its shard of every global batch ({@code batch / W}
 * images, see {@link Trainer}). Rank 0 alone logs, writes metrics, samples and checkpoints, and
 * evaluates; the others write nothing and wait for it at a barrier after every step where rank 0
 * does such work, with the long {@link #MASTER_WORK_TIMEOUT} instead of the collective timeout.
 * A time budget's total follows the ranks' mean elapsed time, so all ranks stop at the same step.
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
    /**
     * How long the other ranks wait at a barrier while rank 0 writes a checkpoint or samples, or
     * evaluates (at least the group's own timeout). A rank that dies still fails the others at
     * once; only a rank 0 that hangs is caught this late.
     */
    public static final Duration MASTER_WORK_TIMEOUT = Duration.ofHours(6);

    private static final double LN2 = Math.log(2);
    private static final double NATS_OFFSET = 0.5 * Math.log(2 * Math.PI) + Math.log(128);

    private final TrainingOptions options;
    private final ImageDataset train;
    private final ImageDataset test;
    private final Path dir;
    private final ProgressLine progress;
    private final Distributed group;
    /** Estimated seconds of the final sample figure (set after the first step). */
    private double figureSeconds = Double.NaN;
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
        this(options, train, test, dir, log, inPlace, Distributed.single());
    }

    /**
     * One rank's part of a data-parallel run in {@code group} (which the caller closes). Rank 0
     * behaves as a single-process run; the other ranks print nothing and never write to
     * {@code dir}: they need it only to load the checkpoint when resuming (else it may be null),
     * and need no test data.
     */
    public TrainingRun(TrainingOptions options, ImageDataset train, ImageDataset test, Path dir, PrintStream log,
            boolean inPlace, Distributed group) {
        this.options = options;
        this.train = train;
        this.test = group.isMaster() ? test : null;
        this.dir = dir;
        this.group = group;
        this.progress = new ProgressLine(group.isMaster() ? log : new PrintStream(OutputStream.nullOutputStream()),
                inPlace && group.isMaster());
    }

    /**
     * What a run produced.
     *
     * @param dir the run folder (null on ranks other than 0 of a fresh data-parallel run)
     * @param step the last step trained
     * @param totalSteps the schedule's total
     * @param lastLoss the loss of the last step
     * @param testBpd the final test bits/dim, NaN without test data (and on ranks other than 0)
     * @param elapsedSeconds training time, over all resumed parts
     * @param imagesPerSecond training throughput of this process (wall time, all its steps)
     * @param checkpoint the checkpoint file
     * @param figure the sample figure (null when stopped early, with {@code --no-samples}, and on
     *     ranks other than 0)
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
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (SafetensorsFile f = Safetensors.read(file)) {
            m = f.metadata();
            f.tensors().forEach((k, v) -> {
                if (k.startsWith("model.")) {
                    shapes.put(k.substring("model.".length()), v.shape());
                }
            });
        }
        if (!TrainingCheckpoint.FORMAT.equals(m.get("format"))) {
            throw new IOException(file + " is not a tarflow4j training checkpoint; only 'tarflow train' runs can be resumed");
        }
        try {
            TarFlowConfig c = ModelFileCheck.config(m, shapes, 0, 0);
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
                    .threads(requested.threads()).device(requested.device()).precision(requested.precision())
                    .skipNonFinite(requested.skipNonFinite()).stopAfter(requested.stopAfter())
                    // memory and end-of-run choices carry over: a resumed paper-size run must neither
                    // run out of memory nor start hours of sampling its first run had turned off
                    .activationCheckpointing(requested.activationCheckpointing()
                            || Boolean.parseBoolean(m.getOrDefault("activation_checkpointing", "false")))
                    .samples(requested.samples() && Boolean.parseBoolean(m.getOrDefault("samples", "true")))
                    .build();
        } catch (NullPointerException | NumberFormatException e) {
            throw new IOException(file + ": training metadata is incomplete or malformed: " + e, e);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** Opens a dataset spec brought to the options' image size and channels. */
    public static ImageDataset openData(String spec, TrainingOptions o) throws IOException {
        return openData(spec, o, Images.MAX_PIXELS);
    }

    /** {@link #openData(String, TrainingOptions)} refusing image files larger than {@code maxPixels}. */
    public static ImageDataset openData(String spec, TrainingOptions o, long maxPixels) throws IOException {
        return Datasets.open(spec, DataOptions.defaults().withImageSize(o.imageSize()).withChannels(o.channels())
                .withMaxPixels(maxPixels));
    }

    /**
     * Trains, then writes the final outputs. Rank 0 holds the folder's {@link RunLock} throughout
     * and first deletes the temporary files an interrupted run left there.
     *
     * @throws IllegalStateException when another process holds the run folder
     */
    public Summary run() throws IOException {
        try (RunLock lock = group.isMaster() ? lockFolder() : null) {
            return train();
        }
    }

    private RunLock lockFolder() throws IOException {
        Files.createDirectories(dir);
        RunLock lock = RunLock.acquire(dir);
        if (!lock.previousHolder().isEmpty()) {
            progress.message("run folder " + dir + ": taking over the lock of process " + lock.previousHolder()
                    + ", which ended without releasing it");
        }
        List<String> removed = new ArrayList<>(AtomicFiles.removeTemporaries(dir));
        AtomicFiles.removeTemporaries(dir.resolve("samples")).forEach(n -> removed.add("samples/" + n));
        if (Files.deleteIfExists(dir.resolve(TrainingCheckpoint.PREVIOUS + ".tmp"))) {
            removed.add(TrainingCheckpoint.PREVIOUS + ".tmp");
        }
        if (!removed.isEmpty()) {
            progress.message("removed " + removed.size() + " temporary file(s) an interrupted run left: "
                    + String.join(", ", removed));
        }
        return lock;
    }

    /**
     * Whether a run at its last step has its final outputs: the figure, and the test bits/dim when
     * there is test data (decided alike on every rank).
     */
    private boolean finalOutputsWritten() {
        boolean bpdExpected = group.isMaster() ? test != null : options.testData() != null;
        return Files.isRegularFile(dir.resolve(FIGURE)) && (!bpdExpected || Files.isRegularFile(dir.resolve(BPD)));
    }

    private Summary train() throws IOException {
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
        int world = group.worldSize();
        int perRank = DistributedOptions.perRankBatch(o.batch(), world); // refuse an uneven split before building anything
        MemoryEstimate memory = MemoryEstimate.of(config, perRank, o.emaDecay() > 0, o.activationCheckpointing());
        checkMemory(config, memory);
        Runtime.seed(o.seed());
        // a resumed model's random weights would be overwritten at once: not drawn (seconds at paper sizes)
        TarFlow model = o.resume() != null ? TarFlow.forLoading(config, device, ScalarType.Float)
                : new TarFlow(config, device, ScalarType.Float);
        try (Trainer trainer = new Trainer(model, o, group)) {
            trainer.inputHook = inputHook;
            long step = 0;
            double elapsedBefore = 0;
            if (o.resume() != null) {
                TrainingCheckpoint.Contents ck = TrainingCheckpoint.load(dir.resolve(TrainingCheckpoint.FILE));
                if (!ck.config().equals(config)) {
                    throw new IllegalArgumentException("--resume " + dir + ": the checkpoint's model ("
                            + ck.config().describe() + ") does not fit the data (" + config.describe() + ")");
                }
                model.checkState(RawTensors.shapes(ck.model()));
                RawTensors.copyAll(ck.model(), model.state()); // one tensor at a time from the file's mapping
                if (trainer.ema() != null) {
                    trainer.ema().load(ck.ema());
                }
                trainer.optimizer().loadState(ck.optimizerState());
                step = ck.step();
                elapsedBefore = Double.parseDouble(ck.get("elapsed_s"));
                if (o.steps() < step || o.steps() == step && finalOutputsWritten()) {
                    throw new IllegalArgumentException("--steps " + o.steps() + " is the total, and the checkpoint in "
                            + dir + " is already at step " + step + "; give a larger --steps to continue");
                }
                if (o.steps() == step) {
                    progress.message("the checkpoint in " + dir + " is at the final step " + step
                            + " but the run stopped before its final outputs; writing them");
                }
            }
            trainer.synchronize();
            progress.message("tarflow train: " + config.describe() + ", " + String.format("%,d", config.parameterCount())
                    + " parameters");
            progress.message("  data " + o.data() + " (" + train.size() + " images), batch " + o.batch() + ", lr "
                    + o.lr() + ", warmup " + o.warmupSteps() + ", noise " + o.noise()
                    + (config.conditional() ? ", label drop " + o.dropLabel() : "") + ", seed " + o.seed()
                    + ", threads " + o.threads() + ", " + o.device()
                    + (world > 1 ? ", " + world + " processes (batch " + o.batch() / world + " each)" : ""));
            progress.message("  " + (o.timeBudgeted() ? "time budget " + o.minutes() + " min" : "steps " + o.steps())
                    + (step > 0 ? ", resuming after step " + step : "") + "; writing to " + dir);
            progress.message("  memory: about " + memory.describe() + (world > 1 ? " per process" : "")
                    + AvailableMemory.bytes().stream().mapToObj(b -> "; " + MemoryEstimate.gib(b) + " available")
                            .findFirst().orElse(""));
            return loop(trainer, step, elapsedBefore);
        }
    }

    /**
     * Refuses a CPU run whose estimated memory (times the processes of a run on this machine alone)
     * exceeds what the machine has available, naming the flags that lower it: the kernel would
     * otherwise kill the run at its first step.
     */
    private void checkMemory(TarFlowConfig config, MemoryEstimate memory) {
        if (!Runtime.device(options.device()).is_cpu()) {
            return;
        }
        var available = AvailableMemory.bytes();
        int processes = group.onOneMachine() ? group.worldSize() : 1;
        if (available.isEmpty() || processes * memory.total() <= available.getAsLong()) {
            return;
        }
        TrainingOptions o = options;
        List<String> instead = new ArrayList<>();
        MemoryEstimate lean = o.activationCheckpointing() ? memory : memory.withCheckpointing(config, true);
        if (!o.activationCheckpointing()) {
            instead.add("--activation-checkpointing needs about " + MemoryEstimate.gib(processes * lean.total()));
        }
        if (memory.batch() > 1) {
            MemoryEstimate one = MemoryEstimate.of(config, 1, o.emaDecay() > 0, true);
            instead.add("--batch " + (o.batch() / memory.batch()) + " --activation-checkpointing needs about "
                    + MemoryEstimate.gib(processes * one.total()));
        }
        throw new IllegalArgumentException("--batch " + o.batch() + " of " + config.describe() + " needs about "
                + MemoryEstimate.gib(processes * memory.total()) + (processes > 1 ? " (" + processes + " processes of "
                        + memory.describe() + ")" : " (" + memory.describe() + ")")
                + ", more than the " + MemoryEstimate.gib(available.getAsLong()) + " available on this machine"
                + (instead.isEmpty() ? "; train on a machine with more memory" : "; " + String.join("; ", instead)));
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
        boolean master = group.isMaster();
        int world = group.worldSize();
        if (master) {
            Files.createDirectories(dir);
        }
        try (MetricsLog metrics = master ? MetricsLog.open(dir, startStep) : null;
                BatchLoader loader = BatchLoader.builder(train)
                        .batchSize(DistributedOptions.perRankBatch(o.batch(), world)).seed(o.seed())
                        .flip(o.flip()).dropLast(true).shard(group.rank(), world).startStep(startStep).build()) {
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
                    write(metrics, rec);
                    progress.finish();
                    throw new NonFiniteLossException(k, e.getMessage() + (master ? "; the last good checkpoint ("
                            + dir.resolve(TrainingCheckpoint.FILE) + ", if any) is unchanged" : ""));
                }
                step = k;
                long now = System.nanoTime();
                double elapsed = elapsedBefore + (now - t0) / 1e9;
                if (budget != null) {
                    if (world > 1) {
                        // every rank must compute the same total: feed the budget the ranks' mean time
                        double seconds = trainer.meanOverRanks((now - t0) / 1e9);
                        now = t0 + (long) (seconds * 1e9);
                        elapsed = elapsedBefore + seconds;
                    }
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
                    write(metrics, rec);
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
                    write(metrics, rec);
                    windowStart = now;
                    windowStep = step;
                }
                double eta = (shownTotal - step) * (now - t0) / 1e9 / Math.max(1, step - startStep);
                progress.step(String.format("step %d/%d  loss %.4f  bpd~%.3f  lr %.2e  %s  elapsed %s  ETA %s",
                        step, shownTotal, r.loss(), bpdEstimate(r.loss()), r.lr(),
                        ProgressLine.speed(Double.isNaN(ips) ? windowIps : ips, o.batch()),
                        ProgressLine.duration(elapsed), ProgressLine.duration(eta)), logged);
                boolean last = step == total;
                boolean checkpointDue = !last && step % o.checkpointEvery() == 0;
                boolean samplesDue = !last && o.samples() && o.sampleEvery() > 0 && step % o.sampleEvery() == 0;
                if (step == startStep + 1) {
                    // the estimate's probe is not training time: the clocks (and a time budget) skip it
                    long before = System.nanoTime();
                    if (master) {
                        announceEndOfRun(trainer, (now - t0) / 1e9 / o.batch());
                    }
                    waitForMaster();
                    long pause = System.nanoTime() - before;
                    t0 += pause;
                    windowStart += pause;
                }
                boolean evalDue = o.evalAt().contains(step);
                if (master && checkpointDue) {
                    TrainingCheckpoint.save(dir, trainer, metadata(step, shownTotal, elapsed));
                    checkpointedStep = step;
                }
                if (master && samplesDue) {
                    Path png = dir.resolve("samples").resolve(String.format("step-%07d.png", step));
                    Files.createDirectories(png.getParent());
                    SampleFigure.write(png, trainer.evaluationModel(), o.noise(), false, SAMPLE_SEED,
                            denoiseBatch(), o.activationCheckpointing());
                    progress.message("step " + step + ": samples written to " + png);
                }
                if (test != null && evalDue) {
                    evaluations.add(evaluate(trainer, step, metrics));
                }
                if (checkpointDue || samplesDue || evalDue) {
                    waitForMaster();
                }
            }
            double elapsed = elapsedBefore + (System.nanoTime() - t0) / 1e9;
            double ipsAll = (step - startStep) * (double) o.batch() / ((System.nanoTime() - t0) / 1e9);
            progress.finish();
            long recordedTotal = budget == null ? o.steps() : Math.max(step, budget.total());
            if (!master) {
                waitForMaster(); // rank 0 writes the checkpoint, the figure and the test bits/dim
                return new Summary(dir, step, recordedTotal, lastLoss, Double.NaN, elapsed, ipsAll,
                        dir == null ? null : dir.resolve(TrainingCheckpoint.FILE), null);
            }
            Summary summary = finish(trainer, metrics, step, recordedTotal, lastLoss, elapsed, ipsAll, evaluations);
            waitForMaster();
            return summary;
        }
    }

    /** The step of the last periodic checkpoint written in this run (-1: none). */
    private long checkpointedStep = -1;

    /** Rank 0's end of a run: the final checkpoint, and unless stopped early, the figure and the test bits/dim. */
    private Summary finish(Trainer trainer, MetricsLog metrics, long step, long recordedTotal, double lastLoss,
            double elapsed, double ipsAll, List<ObjectNode> evaluations) throws IOException {
        TrainingOptions o = options;
        Path ckpt = dir.resolve(TrainingCheckpoint.FILE);
        if (checkpointedStep != step) {
            // a stop right after a periodic checkpoint need not write the same step twice
            TrainingCheckpoint.save(dir, trainer, metadata(step, recordedTotal, elapsed));
        }
        if (step < recordedTotal) {
            progress.message("stopped after step " + step + " of " + recordedTotal + " (--stop-after); checkpoint "
                    + ckpt + "; continue with: tarflow train --resume " + dir);
            return new Summary(dir, step, recordedTotal, lastLoss, Double.NaN, elapsed, ipsAll, ckpt, null);
        }
        if (ipsAll > 0) {
            progress.message(String.format("trained %d steps in %s (%.1f images/s over all processes since this run"
                    + " started, peak RSS %.0f MiB)", step, ProgressLine.duration(elapsed), ipsAll, PeakRss.megabytes()));
        } else {
            progress.message(String.format("trained %d steps in %s before; writing the final outputs", step,
                    ProgressLine.duration(elapsed)));
        }
        progress.message("checkpoint: " + ckpt);
        Path figure = null;
        if (o.samples()) {
            progress.message("sampling the figure (" + SampleFigure.describe(trainer.model().config(), o.noise(), true)
                    + ", about " + ProgressLine.duration(figureSeconds) + "; --no-samples skips it)");
            figure = dir.resolve(FIGURE);
            List<String> panels = SampleFigure.write(figure, trainer.evaluationModel(), o.noise(), true, SAMPLE_SEED,
                    denoiseBatch(), o.activationCheckpointing());
            progress.message("samples: " + figure + " (panels: " + String.join(" | ", panels) + ")");
        }
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

    /** Images denoised at a time for a sample figure: a training step's share of this process. */
    private int denoiseBatch() {
        return DistributedOptions.perRankBatch(options.batch(), group.worldSize());
    }

    /**
     * Says, after the first step, what the sample figures and the evaluation will cost: decoding
     * is timed on a few tokens, forward and backward passes at {@code imageSeconds}, the first
     * step's time per image (an overestimate: it includes first-touch costs).
     */
    private void announceEndOfRun(Trainer trainer, double imageSeconds) {
        TrainingOptions o = options;
        TarFlow model = trainer.model();
        TarFlowConfig c = model.config();
        List<String> work = new ArrayList<>();
        if (o.samples()) {
            figureSeconds = SampleFigure.estimateSeconds(model, o.noise(), true, imageSeconds);
            work.add("sample figure (" + SampleFigure.describe(c, o.noise(), true) + ") about "
                    + ProgressLine.duration(figureSeconds));
            if (o.sampleEvery() > 0) {
                work.add("a sample grid (" + SampleFigure.describe(c, o.noise(), false) + ") every " + o.sampleEvery()
                        + " steps, about " + ProgressLine.duration(SampleFigure.estimateSeconds(model, o.noise(), false,
                                imageSeconds)) + " each");
            }
        }
        if (test != null) {
            // an evaluation image costs a forward pass, about a third of a training step's
            work.add("test bits/dim on " + test.size() + " images about " + ProgressLine.duration(test.size()
                    * imageSeconds / 3) + " each time");
        }
        progress.message(work.isEmpty() ? "no samples and no evaluation (--no-samples, --test-data none)"
                : "end-of-run and periodic work: " + String.join("; ", work)
                        + " (--no-samples and --test-data none skip them)");
    }

    /**
     * All ranks meet here after rank 0's checkpoint, samples or evaluation (a no-op in one
     * process), with a timeout long enough for that work.
     */
    private void waitForMaster() {
        if (group.worldSize() > 1) {
            Duration own = group.options().timeout();
            group.barrier(own.compareTo(MASTER_WORK_TIMEOUT) > 0 ? own : MASTER_WORK_TIMEOUT);
        }
    }

    private static void write(MetricsLog metrics, ObjectNode rec) throws IOException {
        if (metrics != null) {
            metrics.write(rec);
        }
    }

    private ObjectNode evaluate(Trainer trainer, long step, MetricsLog metrics) throws IOException {
        progress.finish();
        long t = System.nanoTime();
        TarFlow model = trainer.evaluationModel();
        DatasetBpd.Result r;
        // the other ranks of a data-parallel run wait at a barrier meanwhile: on one machine their
        // cores are idle, so rank 0 evaluates with all of them
        try (AllCores all = group.worldSize() > 1 ? AllCores.borrow() : null) {
            r = DatasetBpd.evaluate(model, test, options.evalBatch(), EVAL_SEED, 1, model.config().conditional(), null);
        }
        double seconds = (System.nanoTime() - t) / 1e9;
        ObjectNode rec = MetricsLog.record("eval");
        rec.put("step", step);
        rec.put("test_bpd", r.mean());
        rec.put("standard_error", r.standardError());
        rec.put("images", r.images());
        rec.put("seconds", round(seconds));
        write(metrics, rec);
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
        m.put("samples", Boolean.toString(o.samples()));
        m.put("activation_checkpointing", Boolean.toString(o.activationCheckpointing()));
        m.put("minutes", Double.toString(o.minutes()));
        m.put("class_names", String.join(",", train.classNames()));
        m.put("dataset", o.data());
        m.put("test_dataset", o.testData() == null ? "" : o.testData());
        m.put("elapsed_s", Double.toString(round(elapsed)));
        m.put("threads", Integer.toString(o.threads()));
        m.put("precision", o.precision().toString());
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
