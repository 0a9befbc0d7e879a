package io.tarflow4j.bench;

import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.RandomWeights;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.tensor.BlasKernels;
import io.tarflow4j.tensor.Precision;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.training.Preset;
import io.tarflow4j.training.TrainingOptions;
import io.tarflow4j.training.TrainingRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The performance table against the reference ({@code tarflow bench all}): mnist-toy training
 * images/s in float32 and bf16, in one process and in the worker processes {@code train} starts
 * by default, and batch-1 sampling times (unguided, guided, one block at width 768), each with
 * the reference's figure ({@link ReferenceFigures}), the ratio, the share of this machine's
 * matrix-product ceiling ({@link MatmulCeiling}, FLOPs from {@link FlopCount}) and the target.
 * Every figure is a median of timed steps of the commands' own code ({@link TrainingBenchmark},
 * {@link SamplingBenchmark}) under the OpenBLAS kernel set of the environment.
 */
public final class TargetTable {
    private TargetTable() {}

    /**
     * How long to measure.
     *
     * @param trainWarmup untimed training steps per training row
     * @param trainSteps timed training steps per training row (batch 256)
     * @param sampleWarmup untimed images per mnist-toy sampling row
     * @param sampleSteps timed images per mnist-toy sampling row
     * @param largeSteps timed images of the width-768 block (0: leave the row out; it takes tens of seconds)
     */
    public record Settings(int trainWarmup, int trainSteps, int sampleWarmup, int sampleSteps, int largeSteps) {
        /** Validates the counts. */
        public Settings {
            if (trainWarmup < 0 || trainSteps < 1 || sampleWarmup < 0 || sampleSteps < 1 || largeSteps < 0) {
                throw new IllegalArgumentException(
                        "warm-up counts must be >= 0, step counts >= 1 (width-768 steps >= 0)");
            }
        }
    }

    /** Runs the training rows of several worker processes (the caller starts the processes). */
    @FunctionalInterface
    public interface Workers {
        /**
         * mnist-toy training images/s of {@code processes} workers.
         *
         * @throws Exception when a worker fails
         */
        double imagesPerSecond(int processes, Precision precision, int warmup, int steps) throws Exception;
    }

    /**
     * One line of the table, formatted.
     *
     * @param what what was measured
     * @param reference the reference's figure ("-" when it has none)
     * @param ours our figure
     * @param ratio ours against the reference
     * @param share share of the matrix-product ceiling
     * @param target the target and whether it is met
     */
    public record Row(String what, String reference, String ours, String ratio, String share, String target) {}

    /**
     * Measures every row and returns the table with its header lines (date, load, kernel set,
     * ceilings). {@code workerProcesses} is the number {@code train} would start here; with 1
     * the worker rows are left out.
     */
    public static String measure(Settings s, int workerProcesses, Workers workers, PrintStream progress)
            throws Exception {
        int cores = java.lang.Runtime.getRuntime().availableProcessors();
        String start = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm"));
        double loadBefore = loadAverage();
        Runtime.setThreads(cores);
        progress.println("bench all: matrix-product ceilings");
        MatmulCeiling f32 = MatmulCeiling.measure(ScalarType.Float);
        MatmulCeiling bf16 = MatmulCeiling.measure(ScalarType.BFloat16);
        List<Measured> measured = new ArrayList<>();

        Preset toy = Preset.MNIST_TOY;
        TrainingOptions base = TrainingOptions.builder(toy)
                .steps(s.trainWarmup() + s.trainSteps())
                .build();
        ImageDataset data = TrainingRun.openData(base.data(), base);
        double trainFlop = FlopCount.trainingPerImage(base.modelConfig(data));
        for (Precision p : Precision.values()) {
            double reference = p == Precision.BF16
                    ? ReferenceFigures.TRAIN_BF16_IMAGES_PER_S
                    : ReferenceFigures.TRAIN_FLOAT32_IMAGES_PER_S;
            progress.println("bench all: training " + p + ", 1 process");
            TrainingOptions o = TrainingOptions.builder(toy)
                    .steps(s.trainWarmup() + s.trainSteps())
                    .precision(p)
                    .build();
            TrainingBenchmark.Timings t = TrainingBenchmark.run(o, data, Distributed.single(), s.trainWarmup());
            measured.add(new Measured(
                    "train " + p + ", 1 process x " + o.threads() + " threads",
                    o.batch() * 1000 / BenchResult.median(t.stepMillis()),
                    reference,
                    trainFlop,
                    p));
            if (workerProcesses > 1) {
                progress.println("bench all: training " + p + ", " + workerProcesses + " workers");
                double w = workers.imagesPerSecond(workerProcesses, p, s.trainWarmup(), s.trainSteps());
                measured.add(new Measured(
                        "train " + p + ", " + workerProcesses + " workers (train's default)",
                        w,
                        reference,
                        trainFlop,
                        p));
            }
        }

        Runtime.setThreads(1); // bench sample's and sample's default
        TarFlowConfig toyModel = toy.architecture();
        Sampler sampler = new Sampler(RandomWeights.perturbed(toyModel, 1, 0.02));
        double forward = FlopCount.forwardPerImage(toyModel);
        progress.println("bench all: sampling mnist-toy at batch 1");
        measured.add(new Measured(
                "sample mnist-toy, batch 1, sequential",
                sampleMillis(sampler, toyModel, 0, s.sampleWarmup(), s.sampleSteps()),
                ReferenceFigures.SAMPLE_BATCH1_MS,
                forward,
                null));
        measured.add(new Measured(
                "sample mnist-toy, batch 1, guidance 1",
                sampleMillis(sampler, toyModel, 1, s.sampleWarmup(), s.sampleSteps()),
                Double.NaN,
                2 * forward,
                null));
        if (s.largeSteps() > 0) {
            progress.println("bench all: sampling one afhq256 block at batch 1 (tens of seconds)");
            TarFlowConfig block = Preset.AFHQ256.architecture().withBlocks(1);
            double reference = BlasKernels.SMALL_MATRIX
                    ? ReferenceFigures.SAMPLE_WIDTH768_BLOCK_AVX512_MS
                    : ReferenceFigures.SAMPLE_WIDTH768_BLOCK_AVX2_MS;
            measured.add(new Measured(
                    "sample one afhq256 block (width 768, 1024 tokens, 8 layers), batch 1",
                    sampleMillis(new Sampler(RandomWeights.perturbed(block, 1, 0.02)), block, 0, 0, s.largeSteps()),
                    reference,
                    FlopCount.forwardPerImage(block),
                    null));
        }
        // a ceiling is what the machine can do: the better of a measurement before and one after
        Runtime.setThreads(cores);
        progress.println("bench all: matrix-product ceilings again");
        f32 = better(f32, MatmulCeiling.measure(ScalarType.Float));
        bf16 = better(bf16, MatmulCeiling.measure(ScalarType.BFloat16));
        List<Row> rows = new ArrayList<>();
        for (Measured m : measured) {
            rows.add(
                    m.precision() == null
                            ? sampling(m.what(), m.value(), m.reference(), m.flopPerImage(), f32)
                            : training(
                                    m.what(),
                                    m.value(),
                                    m.reference(),
                                    m.flopPerImage(),
                                    m.precision() == Precision.BF16 ? bf16 : f32));
        }

        StringBuilder out = new StringBuilder();
        out.append(String.format(
                Locale.ROOT,
                "tarflow bench all, %s UTC, %d cores, load %.1f at the start and %.1f"
                        + " at the end (1-minute averages)%n",
                start,
                cores,
                loadBefore,
                loadAverage()));
        String kernels = System.getenv("OPENBLAS_CORETYPE");
        out.append("OpenBLAS kernels: ")
                .append(BlasKernels.SMALL_MATRIX ? "AVX-512" : "AVX2 (or older)")
                .append(
                        kernels == null
                                ? ", OPENBLAS_CORETYPE unset (the CPU's own)"
                                : ", OPENBLAS_CORETYPE=" + kernels)
                .append(
                        BlasKernels.NATIVE_BF16
                                ? ""
                                : "; this CPU has no bf16 instructions: bf16 products are"
                                        + " emulated, so the bf16 rows do not compare with the reference's machine")
                .append(System.lineSeparator());
        out.append(String.format(
                Locale.ROOT,
                "ceilings (bench matmul, %dx%d @ %dx%d, %d threads, the better of a"
                        + " run before and after the rows): float32 %.1f GFLOP/s, bf16 %.1f GFLOP/s; mnist-toy %.3f GFLOP per training image, %.3f per image forward%n",
                f32.rows(),
                f32.inner(),
                f32.inner(),
                f32.cols(),
                cores,
                f32.gflops(),
                bf16.gflops(),
                trainFlop / 1e9,
                forward / 1e9));
        out.append(String.format(
                Locale.ROOT,
                "training: median of %d steps after %d, batch 256; sampling: median of %d"
                        + " images after %d (width 768: %d)%n",
                s.trainSteps(),
                s.trainWarmup(),
                s.sampleSteps(),
                s.sampleWarmup(),
                s.largeSteps()));
        out.append(System.lineSeparator()).append(render(rows));
        return out.toString();
    }

    /** A training row: images/s against the reference, share of the precision's ceiling, the 75% target. */
    public static Row training(
            String what, double imagesPerSecond, double reference, double flopPerImage, MatmulCeiling ceiling) {
        double share = imagesPerSecond * flopPerImage / 1e9 / ceiling.gflops();
        double target = ReferenceFigures.TRAIN_CEILING_SHARE_TARGET;
        String verdict = share > 1
                ? "not judged (faster than the measured ceiling: noise, or emulated products)"
                : share >= target ? "met" : "not met";
        return new Row(
                what,
                fmt("%.1f images/s", reference),
                fmt("%.1f images/s", imagesPerSecond),
                fmt("%.2fx", imagesPerSecond / reference),
                percent(share, ceiling),
                fmt("%.0f%% of ceiling: ", target * 100) + verdict);
    }

    /**
     * A batch-1 sampling row: ms per image against the reference (NaN: none), the share of the
     * float32 ceiling its forward FLOPs would take, the 3x target.
     */
    public static Row sampling(
            String what, double millis, double referenceMillis, double flopPerImage, MatmulCeiling ceiling) {
        double share = flopPerImage / 1e9 / (millis / 1000) / ceiling.gflops();
        boolean hasReference = !Double.isNaN(referenceMillis);
        double target = ReferenceFigures.SAMPLE_SPEEDUP_TARGET;
        return new Row(
                what,
                hasReference ? ms(referenceMillis) : "-",
                ms(millis),
                hasReference ? fmt("%.2fx faster", referenceMillis / millis) : "-",
                percent(share, ceiling),
                hasReference
                        ? fmt("%.0fx faster (< ", target) + ms(referenceMillis / target) + "): "
                                + (referenceMillis / millis >= target ? "met" : "not met")
                        : "reported");
    }

    /** The rows as a Markdown table. */
    public static String render(List<Row> rows) {
        StringBuilder b = new StringBuilder("| what | reference | ours | vs reference | share of ceiling | target |\n");
        b.append("| --- | --- | --- | --- | --- | --- |\n");
        for (Row r : rows) {
            b.append("| ")
                    .append(String.join(" | ", r.what(), r.reference(), r.ours(), r.ratio(), r.share(), r.target()))
                    .append(" |\n");
        }
        return b.toString();
    }

    /** One measured figure before formatting: images/s for training (precision set), ms per image for sampling. */
    private record Measured(String what, double value, double reference, double flopPerImage, Precision precision) {}

    private static MatmulCeiling better(MatmulCeiling a, MatmulCeiling b) {
        return a.gflops() >= b.gflops() ? a : b;
    }

    private static double sampleMillis(Sampler sampler, TarFlowConfig c, double cfg, int warmup, int steps) {
        var o = SamplingBenchmark.options(c, 1).guidance(cfg).build();
        return BenchResult.median(
                SamplingBenchmark.run(sampler, o, warmup, steps).millis());
    }

    private static String percent(double share, MatmulCeiling ceiling) {
        return fmt("%.1f%% of ", share * 100) + ceiling.dtypeName();
    }

    private static String ms(double millis) {
        return millis >= 10_000 ? fmt("%.1f s", millis / 1000) : fmt("%.1f ms", millis);
    }

    private static String fmt(String format, double value) {
        return String.format(Locale.ROOT, format, value);
    }

    /** The 1-minute load average (NaN where /proc is not readable). */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }
}
