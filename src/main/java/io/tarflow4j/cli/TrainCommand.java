package io.tarflow4j.cli;

import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.training.MemoryEstimate;
import io.tarflow4j.training.NoiseSpec;
import io.tarflow4j.training.Preset;
import io.tarflow4j.training.ProgressLine;
import io.tarflow4j.training.RunFolder;
import io.tarflow4j.training.RunLock;
import io.tarflow4j.training.TrainingOptions;
import io.tarflow4j.training.TrainingRun;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow train}: trains a TarFlow on images. Without arguments it is the main job: a
 * class-conditional {@code fmnist-small} model on the bundled Fashion-MNIST for 10 minutes,
 * written to {@code runs/fmnist-small} (or a fresh dated folder).
 *
 * <p>Data-parallel with the {@link DistributedFlags}: {@code --nproc N} starts N local worker
 * processes running this same command; {@code --world-size W --rank R --master HOST:PORT} makes
 * this process one rank of a (multi-machine) run. {@code --batch} stays the global batch.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Trains a TarFlow model; writes checkpoint.safetensors, metrics.jsonl, samples.png,",
            "samples/step-N.png and bpd.json (test bits/dim) to the run folder.",
            "Without arguments: the fmnist-small preset on the bundled Fashion-MNIST for 10 minutes.",
            "Resume with --resume DIR [--steps TOTAL]: architecture, data and recipe come from the checkpoint.",
            "Data-parallel: --nproc N (local workers) or --world-size W --rank R --master HOST:PORT on every node;",
            "--batch is the global batch (a multiple of the processes); see docs/distributed.md.",
            "Paper-size presets on a CPU: --batch 1 or 2 --activation-checkpointing --no-samples; the run prints the",
            "memory it needs first and refuses to start when the machine does not have it."
        })
final class TrainCommand implements Callable<Integer> {
    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @CommandLine.Mixin
    DistributedFlags dist;

    @Option(
            names = "--preset",
            paramLabel = "NAME",
            defaultValue = "fmnist-small",
            description = "fmnist-small (default), mnist-toy, imagenet64, imagenet128 or afhq256")
    String preset;

    @Option(
            names = "--data",
            paramLabel = "SPEC",
            description = "fashion-mnist, an IDX images file or an image folder (default: the preset's)")
    String data;

    @Option(
            names = "--test-data",
            paramLabel = "SPEC",
            description =
                    "data for the final bits/dim, or 'none' (default: fashion-mnist-test when training on fashion-mnist)")
    String testData;

    @Option(
            names = "--steps",
            paramLabel = "N",
            description = "total optimizer steps (also when resuming: the new total)")
    Long steps;

    @Option(
            names = "--minutes",
            paramLabel = "M",
            description = "time budget; the cosine schedule spans the steps that fit (fmnist-small: 10)")
    Double minutes;

    @Option(
            names = "--out",
            paramLabel = "DIR",
            description = "run folder (must be new or empty; default runs/PRESET or a fresh dated folder)")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue the run in DIR exactly from its checkpoint")
    Path resume;

    @Option(names = "--seed", paramLabel = "S", description = "seed (default 0)")
    Long seed;

    @Option(names = "--batch", paramLabel = "B", description = "images per step")
    Integer batch;

    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate")
    Double lr;

    @Option(names = "--warmup", paramLabel = "W", description = "linear warm-up steps from 1e-6")
    Long warmup;

    @Option(names = "--noise", paramLabel = "NOISE", description = "gaussian:SIGMA or uniform")
    String noise;

    @Option(names = "--drop-label", paramLabel = "P", description = "probability of dropping a label (conditional)")
    Double dropLabel;

    @Option(names = "--unconditional", description = "train without class labels")
    boolean unconditional;

    @Option(names = "--conditional", description = "train class-conditionally (labels required)")
    boolean conditional;

    @Option(names = "--image-size", paramLabel = "PX", description = "bring images to this square size")
    Integer imageSize;

    @Option(names = "--channels", paramLabel = "C", description = "bring images to 1 or 3 channels")
    Integer channels;

    @Option(names = "--patch", paramLabel = "P", description = "patch size")
    Integer patch;

    @Option(names = "--width", paramLabel = "W", description = "Transformer width")
    Integer width;

    @Option(names = "--blocks", paramLabel = "N", description = "flow blocks")
    Integer blocks;

    @Option(names = "--layers", paramLabel = "N", description = "Transformer layers per block")
    Integer layers;

    @Option(names = "--head-dim", paramLabel = "D", description = "attention head size (default 64)")
    Integer headDim;

    @Option(names = "--vp", description = "volume-preserving blocks (shift only, learned prior variance)")
    boolean vp;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "AdamW weight decay (default 1e-4)")
    Double weightDecay;

    @Option(names = "--beta1", paramLabel = "B1", description = "AdamW beta1 (default 0.9)")
    Double beta1;

    @Option(names = "--beta2", paramLabel = "B2", description = "AdamW beta2 (default 0.95)")
    Double beta2;

    @Option(names = "--grad-clip", paramLabel = "NORM", description = "clip the gradient norm (default off)")
    Double gradClip;

    @Option(
            names = "--ema",
            paramLabel = "DECAY",
            description = "keep an EMA of the weights with this decay, used for samples and bits/dim (default off)")
    Double ema;

    @Option(
            names = "--flip",
            negatable = true,
            description = "random horizontal flips (default: on for imagenet64,"
                    + " imagenet128 and afhq256 as in the reference, off for the Fashion-MNIST presets)")
    Boolean flip;

    @Option(names = "--sample-every", paramLabel = "N", description = "sample grid every N steps (0: only at the end)")
    Long sampleEvery;

    @Option(names = "--checkpoint-every", paramLabel = "N", description = "checkpoint every N steps (default 500)")
    Long checkpointEvery;

    @Option(
            names = "--eval-at",
            paramLabel = "STEPS",
            split = ",",
            description = "also measure the test bits/dim after these steps")
    List<Long> evalAt;

    @Option(names = "--eval-batch", paramLabel = "B", description = "evaluation batch (default 250)")
    Integer evalBatch;

    @Option(names = "--log-every", paramLabel = "N", description = "metrics line every N steps (default 10)")
    Integer logEvery;

    @Option(
            names = "--threads",
            paramLabel = "T",
            description =
                    "libtorch threads (default: the preset's; fmnist-small 1, others all cores; with --nproc N: per worker, default cores / N; giving it makes --nproc auto choose one process)")
    Integer threads;

    @Option(names = "--device", paramLabel = "DEV", description = "cpu (default) or cuda[:N]")
    String device;

    @Option(
            names = "--stop-after",
            paramLabel = "N",
            description = "stop after step N with a checkpoint, as if interrupted; continue later with --resume")
    Long stopAfter;

    @Option(names = "--skip-nonfinite", description = "skip steps with a NaN/Inf loss or gradient instead of stopping")
    boolean skipNonFinite;

    @Option(
            names = "--activation-checkpointing",
            description =
                    "recompute each Transformer layer in the backward pass instead of keeping its activations: the same gradients in far less memory, for about one more forward pass of time (paper-size presets on a CPU)")
    boolean activationCheckpointing;

    @Option(
            names = "--no-samples",
            description =
                    "write no sample figures (neither the periodic grids nor the end-of-run figure, which takes hours for a paper-size model on a CPU)")
    boolean noSamples;

    @Override
    public Integer call() throws IOException, InterruptedException {
        CommandLine cl = spec.commandLine();
        TrainingOptions requested = options();
        if (requested.resume() != null) {
            RunLock.refuseIfHeld(requested.resume()); // before loading data or starting workers
        }
        TrainingOptions o = TrainingRun.resolve(requested);
        dist.chooseProcesses(
                cl,
                o.batch(),
                o.device() == null || o.device().strip().equalsIgnoreCase("cpu"),
                threads != null,
                twoWorkersFit(o));
        boolean launch = dist.launchesLocalWorkers(cl);
        DistributedOptions distributed = launch ? null : dist.options(cl);
        int processes = launch ? dist.processes(cl) : distributed == null ? 1 : distributed.worldSize();
        dist.perRankBatch(cl, o.batch(), processes);
        if (launch) {
            return dist.launch(cl, threads == null ? 0 : threads);
        }
        try (Distributed group = distributed == null
                ? Distributed.single()
                : Distributed.init(distributed, Runtime.device(o.device()), Distributed.DEFAULT_BUCKET_BYTES)) {
            return train(o, group);
        }
    }

    /**
     * Whether two workers at half the batch fit in this machine's memory by the printed estimate;
     * true when the image size is only known once the data is read (a preset without a size).
     */
    static boolean twoWorkersFit(TrainingOptions o) {
        if (o.imageSize() <= 0 || o.channels() <= 0 || o.batch() % 2 != 0) {
            return true;
        }
        TarFlowConfig config = o.modelConfig(o.channels(), o.imageSize(), 1);
        return MemoryEstimate.of(config, o.batch() / 2, o.emaDecay() > 0, o.activationCheckpointing())
                .fits(2);
    }

    /** This process's part of the run: all of it, or one rank's. Rank 0 alone prints and writes. */
    private int train(TrainingOptions o, Distributed group) throws IOException {
        ImageDataset train = open("--data", o.data(), o);
        ImageDataset test = o.testData() == null || !group.isMaster() ? null : open("--test-data", o.testData(), o);
        // the other ranks write nothing: they read the checkpoint when resuming, else need no folder
        Path dir = group.isMaster() ? RunFolder.choose(o, Path.of("runs")) : o.resume();
        PrintWriter stdout = spec.commandLine().getOut();
        TrainingRun.Summary s = new TrainingRun(
                        o,
                        train,
                        test,
                        dir,
                        WriterStream.of(spec.commandLine().getErr()),
                        ProgressLine.stderrIsTerminal(),
                        group)
                .run();
        if (!group.isMaster()) {
            return 0;
        }
        stdout.println("run folder:  " + s.dir());
        stdout.println("checkpoint:  " + s.checkpoint());
        if (s.figure() != null) {
            stdout.println("samples:     " + s.figure());
        }
        if (s.step() < s.totalSteps()) {
            stdout.println("stopped after step " + s.step() + " of " + s.totalSteps()
                    + "; continue with: tarflow train --resume " + s.dir());
        }
        stdout.println("metrics:     " + s.dir().resolve("metrics.jsonl"));
        if (!Double.isNaN(s.testBpd())) {
            stdout.printf("test bits/dim: %.4f (%s)%n", s.testBpd(), s.dir().resolve(TrainingRun.BPD));
        }
        return 0;
    }

    private ImageDataset open(String flag, String specText, TrainingOptions o) throws IOException {
        try {
            return TrainingRun.openData(specText, o, imageLimit.pixels());
        } catch (IOException e) {
            throw new IOException(flag + " " + specText + ": " + e.getMessage(), e);
        }
    }

    /** The options the flags ask for, validated with messages naming the flags. */
    TrainingOptions options() {
        CommandLine cl = spec.commandLine();
        if (steps != null && minutes != null) {
            throw new CommandLine.ParameterException(cl, "give --steps or --minutes, not both");
        }
        if (steps != null && steps < 1) {
            throw new CommandLine.ParameterException(cl, "--steps must be >= 1, got " + steps);
        }
        if (minutes != null && !(minutes > 0)) {
            throw new CommandLine.ParameterException(cl, "--minutes must be > 0, got " + minutes);
        }
        if (conditional && unconditional) {
            throw new CommandLine.ParameterException(cl, "give --conditional or --unconditional, not both");
        }
        if (resume != null) {
            List<String> fixed = new ArrayList<>();
            for (var opt : spec.options()) {
                String name = opt.longestName();
                boolean recipe = List.of(
                                "--preset",
                                "--data",
                                "--test-data",
                                "--minutes",
                                "--out",
                                "--seed",
                                "--batch",
                                "--lr",
                                "--warmup",
                                "--noise",
                                "--drop-label",
                                "--unconditional",
                                "--conditional",
                                "--image-size",
                                "--channels",
                                "--patch",
                                "--width",
                                "--blocks",
                                "--layers",
                                "--head-dim",
                                "--vp",
                                "--weight-decay",
                                "--beta1",
                                "--beta2",
                                "--grad-clip",
                                "--ema",
                                "--flip")
                        .contains(name);
                if (recipe && cl.getParseResult().hasMatchedOption(name)) {
                    fixed.add(name);
                }
            }
            if (!fixed.isEmpty()) {
                throw new CommandLine.ParameterException(
                        cl,
                        String.join(", ", fixed) + " cannot be given with --resume:"
                                + " the run continues with the settings recorded in its checkpoint (only --steps, --threads, --precision,"
                                + " --device, --activation-checkpointing, --no-samples and the output intervals may change)");
            }
        }
        Preset p;
        NoiseSpec noiseSpec;
        try {
            p = Preset.named(preset);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--preset: " + e.getMessage());
        }
        try {
            noiseSpec = noise == null ? null : NoiseSpec.parse(noise);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--noise: " + e.getMessage());
        }
        TrainingOptions.Builder b = TrainingOptions.builder(p);
        if (data != null) b.data(data);
        if (testData != null) b.testData(testData.equalsIgnoreCase("none") ? null : testData);
        if (steps != null) b.steps(steps);
        if (minutes != null) b.minutes(minutes);
        if (resume != null && steps == null) b.steps(0).minutes(1); // total comes from the checkpoint
        b.out(out).resume(resume);
        if (seed != null) b.seed(seed);
        if (batch != null) b.batch(batch);
        if (lr != null) b.lr(lr);
        if (warmup != null) b.warmupSteps(warmup);
        if (noiseSpec != null) b.noise(noiseSpec);
        if (dropLabel != null) b.dropLabel(dropLabel);
        if (unconditional) b.conditional(false);
        if (conditional) b.conditional(true);
        if (imageSize != null) b.imageSize(imageSize);
        if (channels != null) b.channels(channels);
        if (patch != null) b.patchSize(patch);
        if (width != null) b.width(width);
        if (blocks != null) b.blocks(blocks);
        if (layers != null) b.layersPerBlock(layers);
        if (headDim != null) b.headDim(headDim);
        if (vp) b.nvp(false);
        if (weightDecay != null) b.weightDecay(weightDecay);
        if (beta1 != null || beta2 != null) b.betas(beta1 == null ? 0.9 : beta1, beta2 == null ? 0.95 : beta2);
        if (gradClip != null) b.gradClip(gradClip);
        if (ema != null) b.emaDecay(ema);
        if (flip != null) b.flip(flip);
        if (sampleEvery != null) b.sampleEvery(sampleEvery);
        if (checkpointEvery != null) b.checkpointEvery(checkpointEvery);
        if (evalAt != null) b.evalAt(evalAt);
        if (evalBatch != null) b.evalBatch(evalBatch);
        if (logEvery != null) b.logEvery(logEvery);
        if (threads != null) b.threads(threads);
        if (device != null) b.device(device);
        b.precision(precisionOption.precision);
        b.skipNonFinite(skipNonFinite);
        b.activationCheckpointing(activationCheckpointing);
        b.samples(!noSamples);
        if (stopAfter != null) b.stopAfter(stopAfter);
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }
}
