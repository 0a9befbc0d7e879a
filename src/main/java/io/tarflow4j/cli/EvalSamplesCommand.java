package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.FmnistClassifier;
import io.tarflow4j.evaluation.InceptionV3Fid;
import io.tarflow4j.evaluation.SampleQuality;
import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.io.Png;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.sampling.SamplingProgress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval samples --model CKPT --n 10000 --cfg W}. */
@Command(
        name = "samples",
        mixinStandardHelpOptions = true,
        description = {
            "Sample quality of a Fashion-MNIST model without downloaded weights: FD-FMNIST (Frechet",
            "distance in the bundled classifier's 128-d feature space, samples vs the 10,000 test images)",
            "and, for class-conditional models, the fraction of samples of class k the classifier calls k.",
            "--fid-weights FILE adds the standard FID with pytorch-fid's Inception weights",
            "(pt_inception-2015-12-05-6726825d.pth; slow on a CPU). Writes eval-samples.json next to the model."
        })
final class EvalSamplesCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model;

    @Option(names = "--n", defaultValue = "10000", description = "number of samples (default ${DEFAULT-VALUE})")
    int count;

    @CommandLine.Mixin
    GuidanceOptions guidance;

    @Option(
            names = "--denoise",
            description = "apply score-based denoising (needs the training noise: from the model file or --sigma)")
    boolean denoise;

    @Option(
            names = "--sigma",
            defaultValue = "0",
            description = "training noise std for --denoise when the model file does not record it")
    double sigma;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(100);

    @Option(names = "--seed", defaultValue = "0", description = "sampling noise seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(
            names = "--classifier",
            paramLabel = "FILE",
            description =
                    "Fashion-MNIST classifier weights (default: the bundled models/fmnist-classifier.safetensors)")
    Path classifier;

    @Option(
            names = "--fid-weights",
            paramLabel = "FILE",
            description = "pt_inception-2015-12-05-6726825d.pth: also compute FID")
    Path fidWeights;

    @Option(
            names = "--real",
            defaultValue = "fashion-mnist-test",
            paramLabel = "D",
            description = "real images for the reference statistics (default ${DEFAULT-VALUE})")
    String real;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @Option(names = "--grid", paramLabel = "PNG", description = "also write the first 100 samples as a PNG grid")
    Path grid;

    @CommandLine.Mixin
    ReportOption report;

    @Override
    public Integer call() throws Exception {
        if (count < 2) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--n must be >= 2, got " + count);
        }
        int batchSize = batch.size();
        Guidance g = guidance.guidance();
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        ModelFile.Loaded loaded = model.load();
        double noiseSigma = loaded.sigma(sigma);
        if (denoise && !(noiseSigma > 0)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--denoise needs the training noise sigma: " + model.path + " does not record it; pass --sigma");
        }
        FmnistClassifier judge =
                FmnistClassifier.load(classifier != null ? classifier : FmnistClassifier.locateBundled());
        InceptionV3Fid inception = fidWeights == null ? null : InceptionV3Fid.load(fidWeights);
        ImageDataset realData = Datasets.open(
                real,
                imageLimit
                        .apply(DataOptions.defaults())
                        .withImageSize(FmnistClassifier.SIZE)
                        .withChannels(1));
        var settings = new SampleQuality.Settings(count, batchSize, g, denoise, noiseSigma, seed);
        int gridCount = Math.min(100, count);
        float[] gridPixels = new float[gridCount * FmnistClassifier.SIZE * FmnistClassifier.SIZE];
        int[] kept = {0};
        SampleQuality.Result r;
        long start = System.nanoTime();
        r = SampleQuality.evaluate(
                loaded.model(),
                judge,
                inception,
                realData,
                settings,
                null,
                SamplingProgress.REPORT_EVERY,
                snapshot -> SampleCommand.printProgress(stderr, snapshot),
                (images, labels, n) -> {
                    int per = FmnistClassifier.SIZE * FmnistClassifier.SIZE;
                    int take = Math.min(n, gridCount - kept[0]);
                    if (take > 0) {
                        System.arraycopy(images, 0, gridPixels, kept[0] * per, take * per);
                        kept[0] += take;
                    }
                });
        double seconds = (System.nanoTime() - start) / 1e9;
        stdout.printf(
                "FD-FMNIST %.4f over %d samples vs %d real images%n", r.frechetFmnist(), r.samples(), r.realImages());
        if (!Double.isNaN(r.classAccuracy())) {
            stdout.printf("class accuracy of samples %.4f (bundled classifier)%n", r.classAccuracy());
        }
        if (!Double.isNaN(r.fid())) {
            stdout.printf("FID %.4f%n", r.fid());
        }
        stdout.printf("sampling %.1f s, total %.1f s%n", r.samplingSeconds(), seconds);
        ObjectNode json = report.start(model.path);
        json.put("samples", r.samples());
        json.put("real", real);
        json.put("real_images", r.realImages());
        json.put("fd_fmnist", r.frechetFmnist());
        if (!Double.isNaN(r.classAccuracy())) {
            json.put("class_accuracy", r.classAccuracy());
            json.set("per_class_accuracy", EvalReport.mapper().valueToTree(r.perClassAccuracy()));
        }
        if (!Double.isNaN(r.fid())) {
            json.put("fid", r.fid());
            json.put("fid_weights", fidWeights.toString());
        }
        json.put("cfg", g.weight());
        json.put("guide", g.target().name().toLowerCase(Locale.ROOT));
        json.put("annealed", g.annealed());
        json.put("attn_temp", g.attnTemp());
        json.put("denoise", denoise);
        if (denoise) {
            json.put("sigma", noiseSigma);
        }
        json.put("seed", seed);
        json.put("batch", batchSize);
        json.put("ema", loaded.usedEma());
        json.put("sampling_seconds", r.samplingSeconds());
        json.put("seconds", seconds);
        stderr.println("wrote " + report.write(model.path, json));
        if (grid != null) {
            Png.writeGrid(
                    grid,
                    gridPixels,
                    kept[0],
                    1,
                    FmnistClassifier.SIZE,
                    FmnistClassifier.SIZE,
                    ImageGrid.forCount(kept[0], 10, 2));
            stderr.println("wrote " + grid);
        }
        return 0;
    }
}
