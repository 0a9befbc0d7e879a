package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.BlockStrategy;
import io.tarflow4j.sampling.Calibration;
import io.tarflow4j.sampling.JacobiStrategy;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow calibrate}: measures a model's blocks on data and writes a GS-Jacobi strategy. */
@Command(
        name = "calibrate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Chooses a GS-Jacobi sampling strategy for a model from a sample of data:",
            "prints each block's CRM and IGM (Liu and Qin 2025) and the measured passes, and writes",
            "the strategy file for tarflow sample --sampler jacobi --strategy FILE."
        })
final class CalibrateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model = new ModelOption(1);

    @Option(
            names = "--data",
            required = true,
            paramLabel = "D",
            description = "fashion-mnist, fashion-mnist-test, an IDX file or an image folder")
    String data;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @Option(
            names = "--n",
            defaultValue = "64",
            paramLabel = "N",
            description = "images to calibrate on, default ${DEFAULT-VALUE}")
    int count;

    @Option(
            names = "--tol",
            defaultValue = "1e-3",
            paramLabel = "E",
            description = "Jacobi tolerance of the strategy, default ${DEFAULT-VALUE}")
    double tolerance;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "N",
            description = "which images (seeded choice), default ${DEFAULT-VALUE}")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "JSON", description = "strategy file to write")
    Path out;

    @Override
    public Integer call() throws IOException {
        if (count < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--n must be >= 1, got " + count);
        }
        if (!(tolerance > 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--tol must be > 0, got " + tolerance);
        }
        SampleCommand.checkWritable(out, "--out");
        ModelFile.Loaded loaded = model.load();
        TarFlow m = loaded.model();
        TarFlowConfig c = m.config();
        PrintWriter stdout = spec.commandLine().getOut();
        ImageDataset ds = Datasets.open(data, imageLimit.forModel(c));
        int n = Math.min(count, ds.size());
        int[] chosen = new Random(seed).ints(0, ds.size()).distinct().limit(n).toArray();
        int len = ds.imageLength();
        float[] pixels = new float[n * len];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            ds.copyImage(chosen[i], pixels, i * len, false);
            labels[i] = ds.hasLabels() ? ds.label(chosen[i]) : -1;
        }
        Calibration.Result r;
        try (NativeScope scope = NativeScope.open()) {
            Tensor images = Tensors.fromFloats(pixels, n, c.inChannels(), c.imageSize(), c.imageSize());
            Tensor y = c.conditional() && ds.hasLabels() ? Tensors.labels(labels) : null;
            r = Calibration.run(m, images, y, tolerance);
        }
        stdout.printf(
                Locale.ROOT,
                "%-6s %9s %6s %10s %10s  %-8s %-6s %-9s %-6s %10s %9s %9s %16s%n",
                "block",
                "CRM",
                "CRM%",
                "IGM zeros",
                "IGM input",
                "segments",
                "guess",
                "max iters",
                "passes",
                "max error",
                "ms",
                "seq. ms",
                "best Jacobi ms");
        for (int i = 0; i < r.blocks().size(); i++) {
            Calibration.BlockReport b = r.blocks().get(i);
            BlockStrategy s = b.chosen();
            String jacobi = b.fastestJacobi() == null
                    ? "none accurate"
                    : String.format(
                            Locale.ROOT,
                            "%.1f (%d seg.)",
                            b.fastestJacobiMillis(),
                            b.fastestJacobi().segments());
            stdout.printf(
                    Locale.ROOT,
                    "%-6d %9.3f %6.1f %10.4f %10.4f  %-8d %-6s %-9d %-6d %10.2e %9.1f %9.1f %16s%n",
                    i,
                    b.crm(),
                    b.crmPercent(),
                    b.igmZeros(),
                    b.igmInput(),
                    s.segments(),
                    s.guess().jsonName(),
                    s.maxIterations(),
                    b.passes(),
                    b.maxError(),
                    b.millis(),
                    b.sequentialMillis(),
                    jacobi);
        }
        stdout.println("(segments = T-1 is the sequential order; seq. ms and best Jacobi ms are the times of the"
                + " sequential order and of the fastest accurate Jacobi candidate on the same images)");
        JacobiStrategy strategy = r.strategy();
        strategy.write(out);
        stdout.println("wrote " + out + " (" + n + " images of " + data + ", tolerance " + tolerance + ")");
        return 0;
    }
}
