package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.io.Png;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.JacobiStrategy;
import io.tarflow4j.sampling.SampleResult;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.sampling.SamplingOptions;
import io.tarflow4j.sampling.SamplingProgress;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Tensors;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow sample}: draws images from a model into a PNG grid (and optionally more). */
@Command(
        name = "sample",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Draws images from a TarFlow model: a PNG grid (one row per class when conditional),",
            "optionally one PNG per image, the raw tensors and the sampling trace.",
            "A conditional model without --class/--classes samples every class."
        })
final class SampleCommand implements Callable<Integer> {
    /** Most samples shown in a trace figure (one row each). */
    static final int TRACE_ROWS = 16;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model = new ModelOption(1);

    @Option(
            names = "--n",
            defaultValue = "64",
            paramLabel = "N",
            description = "number of images (split evenly over the classes), default ${DEFAULT-VALUE}")
    int count;

    @Option(names = "--class", paramLabel = "K", description = "sample this class only")
    Integer classLabel;

    @Option(
            names = "--classes",
            split = ",",
            paramLabel = "K",
            description = "comma-separated classes, one grid row each")
    List<Integer> classes;

    @CommandLine.Mixin
    GuidanceOptions guidance;

    @Option(
            names = "--noise-temp",
            defaultValue = "1",
            paramLabel = "T",
            description = "multiplies the prior noise, default ${DEFAULT-VALUE}")
    double noiseTemp;

    @Option(names = "--denoise", description = "score-based denoising of the samples (needs the training noise sigma)")
    boolean denoise;

    @Option(
            names = "--denoise-scale",
            defaultValue = "1",
            paramLabel = "S",
            description = "multiplies the denoising step, default ${DEFAULT-VALUE}")
    double denoiseScale;

    @Option(
            names = "--sigma",
            paramLabel = "SIGMA",
            description = "training noise std for --denoise (default: from the checkpoint)")
    Double sigma;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "N",
            description = "noise seed, default ${DEFAULT-VALUE}")
    long seed;

    @Option(
            names = "--sampler",
            defaultValue = "sequential",
            paramLabel = "KIND",
            description = "sequential or jacobi (GS-Jacobi), default ${DEFAULT-VALUE}")
    String sampler;

    @CommandLine.Mixin
    JacobiOptions jacobi;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(64);

    @CommandLine.Mixin
    ParallelOption parallel;

    @Option(names = "--out", required = true, paramLabel = "PNG", description = "grid image to write")
    Path out;

    @Option(
            names = "--raw",
            paramLabel = "FILE",
            description = "also write samples (N,C,H,W) and labels as safetensors")
    Path raw;

    @Option(names = "--images", paramLabel = "DIR", description = "also write one PNG per image into DIR")
    Path imagesDir;

    @Option(
            names = "--trace",
            paramLabel = "PNG",
            description = "also write the sampling trace: rows = samples (at most " + TRACE_ROWS
                    + "), columns = noise, after each block, denoised")
    Path trace;

    @Override
    public Integer call() throws IOException {
        checkWritable(out, "--out");
        checkWritable(raw, "--raw");
        checkWritable(trace, "--trace");
        if (imagesDir != null && Files.exists(imagesDir) && !Files.isDirectory(imagesDir)) {
            throw new IOException("--images " + imagesDir + " exists and is not a directory");
        }
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        ModelFile.Loaded loaded = model.load();
        TarFlowConfig config = loaded.model().config();
        SamplingOptions options = options(config, loaded.sigma(Double.NaN));
        Sampler s = new Sampler(loaded.model());
        s.validate(options);
        SampleResult r = s.sample(options, SamplingProgress.REPORT_EVERY, snapshot -> printProgress(stderr, snapshot));
        writeGrid(r, options);
        if (imagesDir != null) {
            Files.createDirectories(imagesDir);
            int size = r.imageSize();
            for (int i = 0; i < r.count(); i++) {
                String name = String.format(
                        Locale.ROOT, "sample_%05d%s.png", i, r.labels() == null ? "" : "_class" + r.labels()[i]);
                Png.writeImage(
                        imagesDir.resolve(name),
                        Arrays.copyOfRange(r.images(), i * size, (i + 1) * size),
                        r.channels(),
                        r.height(),
                        r.width());
            }
        }
        if (raw != null) {
            writeRaw(r, options);
        }
        if (trace != null) {
            writeTrace(r);
        }
        stdout.printf(
                Locale.ROOT,
                "sampled %d images in %.2f s (%.1f images/s), %s sampler, %s%n",
                r.count(),
                r.seconds(),
                r.count() / r.seconds(),
                options.sampler().name().toLowerCase(Locale.ROOT),
                r.stats().describe());
        stdout.println("wrote " + out);
        if (options.sampler() == SamplerType.JACOBI
                && jacobi.strategyFile == null
                && loaded.model().device().is_cpu()) {
            stdout.println("note: GS-Jacobi ran without a calibrated strategy; on a CPU the sequential sampler is"
                    + " usually faster, and `tarflow calibrate` picks, block by block, whichever is faster"
                    + " (docs/sampling.md)");
        }
        return 0;
    }

    /** Prints a sampling run's estimate and progress lines on {@code err} (see {@link SamplingProgress.Snapshot#line()}). */
    static void printProgress(PrintWriter err, SamplingProgress.Snapshot snapshot) {
        String line = snapshot.line();
        if (line != null) {
            err.println(line);
        }
    }

    /** The sampling options from the flags, for this model. */
    SamplingOptions options(TarFlowConfig config, double checkpointSigma) throws IOException {
        List<Integer> chosen;
        if (classLabel != null && classes != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "use either --class or --classes, not both");
        } else if (classLabel != null) {
            chosen = List.of(classLabel);
        } else if (classes != null) {
            chosen = classes;
        } else {
            chosen = config.conditional()
                    ? IntStream.range(0, config.numClasses()).boxed().toList()
                    : List.of();
        }
        SamplerType type;
        try {
            type = SamplerType.parse(sampler);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--sampler: " + e.getMessage());
        }
        Guidance g = guidance.guidance();
        JacobiStrategy strategy = jacobi.strategy(config, type);
        double sig = sigma != null ? sigma : checkpointSigma;
        if (denoise && Double.isNaN(sig)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--denoise: " + model.path + " records no training noise (metadata \"noise\"); pass --sigma");
        }
        try {
            return SamplingOptions.builder()
                    .count(count)
                    .classes(chosen)
                    .guidance(g.weight())
                    .guideTarget(g.target())
                    .annealed(g.annealed())
                    .attnTemp(g.attnTemp())
                    .noiseTemperature(noiseTemp)
                    .denoise(denoise)
                    .denoiseScale(denoiseScale)
                    .sigma(sig)
                    .seed(seed)
                    .sampler(type)
                    .strategy(strategy)
                    .batchSize(batch.size())
                    .trace(trace != null)
                    .parallelism(parallel.groups)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private void writeGrid(SampleResult r, SamplingOptions o) throws IOException {
        int size = r.imageSize();
        if (r.labels() == null || o.classes().size() == 1) {
            int columns = (int) Math.ceil(Math.sqrt(r.count()));
            Png.writeGrid(
                    out,
                    r.images(),
                    r.count(),
                    r.channels(),
                    r.height(),
                    r.width(),
                    ImageGrid.forCount(r.count(), columns, 2));
            return;
        }
        // one row per class, shorter rows padded with black cells
        int rows = o.classes().size();
        int columns = o.perClass(0);
        float[] cells = new float[rows * columns * size];
        Arrays.fill(cells, -1f);
        int from = 0;
        for (int c = 0; c < rows; c++) {
            int n = o.perClass(c);
            System.arraycopy(r.images(), from * size, cells, c * columns * size, n * size);
            from += n;
        }
        Png.writeGrid(out, cells, rows * columns, r.channels(), r.height(), r.width(), new ImageGrid(rows, columns, 2));
    }

    private void writeTrace(SampleResult r) throws IOException {
        int size = r.imageSize();
        int rows = Math.min(TRACE_ROWS, r.count());
        int columns = r.trace().size();
        float[] cells = new float[rows * columns * size];
        for (int i = 0; i < rows; i++) {
            for (int s = 0; s < columns; s++) {
                System.arraycopy(r.trace().get(s), i * size, cells, (i * columns + s) * size, size);
            }
        }
        Png.writeGrid(
                trace, cells, rows * columns, r.channels(), r.height(), r.width(), new ImageGrid(rows, columns, 2));
    }

    private void writeRaw(SampleResult r, SamplingOptions o) throws IOException {
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        tensors.put(
                "samples",
                RawTensors.fromTensor(Tensors.fromFloats(r.images(), r.count(), r.channels(), r.height(), r.width())));
        if (r.labels() != null) {
            tensors.put("labels", RawTensors.fromTensor(Tensors.labels(r.labels())));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", model.path.toString());
        meta.put("seed", Long.toString(o.seed()));
        meta.put("sampler", o.sampler().name().toLowerCase(Locale.ROOT));
        meta.put("guidance", o.guidance().toString());
        meta.put("noise_temperature", Double.toString(o.noiseTemperature()));
        meta.put("denoise", o.denoise() ? "scale " + o.denoiseScale() + ", sigma " + o.sigma() : "off");
        Safetensors.write(raw, tensors, meta);
    }

    /** Fails before sampling when {@code path}'s directory does not exist or is not writable. */
    static void checkWritable(Path path, String flag) throws IOException {
        if (path == null) {
            return;
        }
        Path dir = path.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException("cannot write " + flag + " " + path + ": directory " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new IOException("cannot write " + flag + " " + path + ": directory " + dir + " is not writable");
        }
        if (Files.isDirectory(path)) {
            throw new IOException("cannot write " + flag + " " + path + ": it is a directory");
        }
    }
}
