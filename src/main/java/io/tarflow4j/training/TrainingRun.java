package io.tarflow4j.training;

import io.tarflow4j.checkpoint.ModelFileCheck;
import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.io.Images;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Runtime;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
 * <p>The loop trains a step, logs it ({@link StepLog}) and calls the periodic jobs due after it:
 * {@link CheckpointJob}, {@link SampleJob} and {@link EvaluationJob}. The recipe goes into the
 * checkpoint's metadata and back through {@link RecipeMetadata}.
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

    private final TrainingOptions options;
    private final ImageDataset train;
    private final ImageDataset test;
    private final Path dir;
    private final ProgressLine progress;
    private final Distributed group;
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
    public TrainingRun(
            TrainingOptions options,
            ImageDataset train,
            ImageDataset test,
            Path dir,
            PrintStream log,
            boolean inPlace) {
        this(options, train, test, dir, log, inPlace, Distributed.single());
    }

    /**
     * One rank's part of a data-parallel run in {@code group} (which the caller closes). Rank 0
     * behaves as a single-process run; the other ranks print nothing and never write to
     * {@code dir}: they need it only to load the checkpoint when resuming (else it may be null),
     * and need no test data.
     */
    public TrainingRun(
            TrainingOptions options,
            ImageDataset train,
            ImageDataset test,
            Path dir,
            PrintStream log,
            boolean inPlace,
            Distributed group) {
        this.options = options;
        this.train = train;
        this.test = group.isMaster() ? test : null;
        this.dir = dir;
        this.group = group;
        this.progress = new ProgressLine(
                group.isMaster() ? log : new PrintStream(OutputStream.nullOutputStream()), inPlace && group.isMaster());
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
    public record Summary(
            Path dir,
            long step,
            long totalSteps,
            double lastLoss,
            double testBpd,
            double elapsedSeconds,
            double imagesPerSecond,
            Path checkpoint,
            Path figure) {}

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
            throw new IOException(
                    file + " is not a tarflow4j training checkpoint; only 'tarflow train' runs can be resumed");
        }
        try {
            return RecipeMetadata.restore(requested, m, ModelFileCheck.config(m, shapes, 0, 0));
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
        return Datasets.open(
                spec,
                DataOptions.defaults()
                        .withImageSize(o.imageSize())
                        .withChannels(o.channels())
                        .withMaxPixels(maxPixels));
    }

    /**
     * Trains, then writes the final outputs. Rank 0 holds the folder's {@link RunLock} throughout
     * and first deletes the temporary files an interrupted run left there.
     *
     * @throws IllegalStateException when another process holds the run folder
     */
    public Summary run() throws IOException {
        try (RunLock lock = group.isMaster() ? RunFolder.lock(dir, progress::message) : null) {
            return train();
        }
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
        if (train.height() != train.width()) {
            throw new IllegalArgumentException("--data " + o.data() + " has " + train.height() + "x" + train.width()
                    + " images; TarFlow needs square images (pass --image-size)");
        }
        TarFlowConfig config = o.modelConfig(train);
        int world = group.worldSize();
        int perRank =
                DistributedOptions.perRankBatch(o.batch(), world); // refuse an uneven split before building anything
        MemoryEstimate memory = MemoryEstimate.of(config, perRank, o.emaDecay() > 0, o.activationCheckpointing());
        if (Runtime.device(o.device()).is_cpu()) {
            memory.requireAvailable(config, o, group.onOneMachine() ? world : 1);
        }
        Runtime.seed(o.seed());
        // a resumed model's random weights would be overwritten at once: not drawn (seconds at paper sizes)
        TarFlow model = o.resume() != null
                ? TarFlow.forLoading(config, device, ScalarType.Float)
                : new TarFlow(config, device, ScalarType.Float);
        try (Trainer trainer = new Trainer(model, o, group)) {
            trainer.inputHook = inputHook;
            TrainingCheckpoint.Contents resumed = o.resume() == null ? null : loadCheckpoint(trainer);
            trainer.synchronize();
            long step = resumed == null ? 0 : resumed.step();
            progress.message("tarflow train: " + config.describe() + ", "
                    + String.format("%,d", config.parameterCount()) + " parameters");
            progress.message("  data " + o.data() + " (" + train.size() + " images), batch " + o.batch() + ", lr "
                    + o.lr() + ", warmup " + o.warmupSteps() + ", noise " + o.noise()
                    + (config.conditional() ? ", label drop " + o.dropLabel() : "") + ", seed " + o.seed()
                    + ", threads " + o.threads() + ", " + o.device()
                    + (world > 1 ? ", " + world + " processes (batch " + o.batch() / world + " each)" : ""));
            progress.message("  " + (o.timeBudgeted() ? "time budget " + o.minutes() + " min" : "steps " + o.steps())
                    + (step > 0 ? ", resuming after step " + step : "") + "; writing to " + dir);
            progress.message("  memory: about " + memory.describe() + (world > 1 ? " per process" : "")
                    + AvailableMemory.bytes().stream()
                            .mapToObj(b -> "; " + MemoryEstimate.gib(b) + " available")
                            .findFirst()
                            .orElse(""));
            return loop(trainer, step, resumed == null ? 0 : Double.parseDouble(resumed.get("elapsed_s")));
        }
    }

    /**
     * Loads the checkpoint of {@code --resume} into the trainer's model, weight average and
     * optimizer, refusing one that does not fit the data or whose run is complete.
     */
    private TrainingCheckpoint.Contents loadCheckpoint(Trainer trainer) throws IOException {
        TarFlow model = trainer.model();
        TarFlowConfig config = model.config();
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
        long step = ck.step();
        if (options.steps() < step || options.steps() == step && finalOutputsWritten()) {
            throw new IllegalArgumentException("--steps " + options.steps() + " is the total, and the checkpoint in "
                    + dir + " is already at step " + step + "; give a larger --steps to continue");
        }
        if (options.steps() == step) {
            progress.message("the checkpoint in " + dir + " is at the final step " + step
                    + " but the run stopped before its final outputs; writing them");
        }
        return ck;
    }

    /**
     * The training loop: a step, its log line, and the periodic jobs due after it; rank 0 does
     * the jobs while the other ranks wait for it.
     */
    private Summary loop(Trainer trainer, long startStep, double elapsedBefore) throws IOException {
        TrainingOptions o = options;
        StepBudget budget = o.timeBudgeted() ? new StepBudget(o.minutes(), o.warmupSteps(), startStep) : null;
        boolean master = group.isMaster();
        int world = group.worldSize();
        if (master) {
            Files.createDirectories(dir);
        }
        long step = startStep;
        long t0 = System.nanoTime();
        boolean reported = false;
        double lastLoss = Double.NaN;
        try (MetricsLog metrics = master ? MetricsLog.open(dir, startStep) : null;
                BatchLoader loader = BatchLoader.builder(train)
                        .batchSize(DistributedOptions.perRankBatch(o.batch(), world))
                        .seed(o.seed())
                        .flip(o.flip())
                        .dropLast(true)
                        .shard(group.rank(), world)
                        .startStep(startStep)
                        .build()) {
            StepLog log = new StepLog(o, metrics, progress, startStep, t0);
            CheckpointJob checkpoints = new CheckpointJob(dir, o, train.classNames());
            SampleJob samples = new SampleJob(dir, o, denoiseBatch(), progress);
            EvaluationJob evaluations =
                    test == null ? null : new EvaluationJob(test, o, dir, progress, metrics, world > 1);
            long stopAfter = o.stopAfter() > 0 ? o.stopAfter() : Long.MAX_VALUE;
            while (step < (budget == null ? o.steps() : budget.total()) && step < stopAfter) {
                long k = step + 1;
                LearningRateSchedule schedule =
                        new LearningRateSchedule(o.lr(), o.warmupSteps(), budget == null ? o.steps() : budget.total());
                Batch batch = loader.next();
                Trainer.StepResult r;
                try {
                    r = trainer.step(k, batch, schedule);
                } catch (NonFiniteLossException e) {
                    log.stopped(k, e.getMessage());
                    throw new NonFiniteLossException(
                            k,
                            e.getMessage()
                                    + (master
                                            ? "; the last good checkpoint (" + checkpoints.file()
                                                    + ", if any) is unchanged"
                                            : ""));
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
                        progress.message(String.format(
                                "time budget: %.1f ms/step measured after warm-up, about %d steps"
                                        + " fit (the total follows the measured speed)",
                                budget.stepSeconds() * 1000, budget.total()));
                    }
                }
                long total = budget == null ? o.steps() : budget.total();
                if (r.skipped()) {
                    log.skipped(step, r);
                } else {
                    lastLoss = r.loss();
                }
                double eta = (total - step) * (now - t0) / 1e9 / Math.max(1, step - startStep);
                log.stepped(step, total, r, now, elapsed, eta);
                if (step == startStep + 1) {
                    // the estimate's probe is not training time: the clocks (and a time budget) skip it
                    long before = System.nanoTime();
                    if (master) {
                        announceEndOfRun(trainer, samples, evaluations, (now - t0) / 1e9 / o.batch());
                    }
                    waitForMaster();
                    long pause = System.nanoTime() - before;
                    t0 += pause;
                    log.pause(pause);
                }
                boolean checkpointDue = checkpoints.due(step, total);
                boolean samplesDue = samples.due(step, total);
                boolean evalDue = o.evalAt().contains(step); // on every rank, with or without test data
                if (master && checkpointDue) {
                    checkpoints.save(trainer, step, total, elapsed);
                }
                if (master && samplesDue) {
                    samples.writeGrid(trainer, step);
                }
                if (evalDue && evaluations != null) {
                    evaluations.run(trainer, step);
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
                return new Summary(
                        dir,
                        step,
                        recordedTotal,
                        lastLoss,
                        Double.NaN,
                        elapsed,
                        ipsAll,
                        dir == null ? null : checkpoints.file(),
                        null);
            }
            checkpoints.saveFinal(trainer, step, recordedTotal, elapsed);
            Summary summary = finish(
                    trainer,
                    checkpoints,
                    samples,
                    evaluations,
                    new Summary(
                            dir, step, recordedTotal, lastLoss, Double.NaN, elapsed, ipsAll, checkpoints.file(), null));
            waitForMaster();
            return summary;
        }
    }

    /**
     * Rank 0's end of a run after the final checkpoint: unless stopped early, the figure and the
     * test bits/dim, added to {@code trained}.
     */
    private Summary finish(
            Trainer trainer, CheckpointJob checkpoints, SampleJob samples, EvaluationJob evaluations, Summary trained)
            throws IOException {
        long step = trained.step();
        if (step < trained.totalSteps()) {
            progress.message(
                    "stopped after step " + step + " of " + trained.totalSteps() + " (--stop-after); checkpoint "
                            + checkpoints.file() + "; continue with: tarflow train --resume " + dir);
            return trained;
        }
        if (trained.imagesPerSecond() > 0) {
            progress.message(String.format(
                    "trained %d steps in %s (%.1f images/s over all processes since this run"
                            + " started, peak RSS %.0f MiB)",
                    step,
                    ProgressLine.duration(trained.elapsedSeconds()),
                    trained.imagesPerSecond(),
                    PeakRss.megabytes()));
        } else {
            progress.message(String.format(
                    "trained %d steps in %s before; writing the final outputs",
                    step, ProgressLine.duration(trained.elapsedSeconds())));
        }
        progress.message("checkpoint: " + checkpoints.file());
        Path figure = samples.writeFigure(trainer);
        double testBpd = evaluations == null ? Double.NaN : evaluations.finish(trainer, step);
        return new Summary(
                dir,
                step,
                trained.totalSteps(),
                trained.lastLoss(),
                testBpd,
                trained.elapsedSeconds(),
                trained.imagesPerSecond(),
                trained.checkpoint(),
                figure);
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
    private void announceEndOfRun(Trainer trainer, SampleJob samples, EvaluationJob evaluations, double imageSeconds) {
        List<String> work = new ArrayList<>(samples.estimate(trainer.model(), imageSeconds));
        if (evaluations != null) {
            work.add(evaluations.estimate(imageSeconds));
        }
        progress.message(
                work.isEmpty()
                        ? "no samples and no evaluation (--no-samples, --test-data none)"
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
}
