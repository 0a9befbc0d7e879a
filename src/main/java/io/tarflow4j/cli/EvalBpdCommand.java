package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataException;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.ResizePolicy;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.ProgressBar;
import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.Runtime;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval bpd --model CKPT --data D}. */
@Command(name = "bpd", mixinStandardHelpOptions = true,
        description = {"Bits per dimension of a dataset, as the reference evaluates it: 8-bit pixels dequantised",
            "with uniform noise (bins of 1/128 on [-1,1]) derived from a seed and each image, so every image",
            "gets the figure tarflow score gives it; mean and standard error over images. --prior standard",
            "gives the reference's figure for VP models. Writes eval-bpd.json next to the model (or --out)."})
final class EvalBpdCommand implements Callable<Integer> {
    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "model file")
    Path model;

    @Option(names = "--data", defaultValue = "fashion-mnist-test", paramLabel = "D",
            description = "fashion-mnist-test (default), fashion-mnist, an IDX images file or an image folder")
    String data;

    @Option(names = "--batch", defaultValue = "500", description = "images per forward pass (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--samples", defaultValue = "1", paramLabel = "K",
            description = "dequantisation draws per image, averaged (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--seed", defaultValue = "0", description = "dequantisation noise seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N", description = "evaluate the first N images only (0: all)")
    int limit;

    @CommandLine.Mixin
    LikelihoodOptions likelihood;

    @Option(names = "--conditional", description = "the same as --likelihood label")
    boolean conditional;

    @Option(names = "--resize", description = "bring images of another size to the model's (shorter side scaled,"
            + " centre cropped); without it a dataset of another size is refused, as its bits/dim would not be"
            + " the dataset's")
    boolean resize;

    @Option(names = "--no-ema", description = "use the raw weights of a checkpoint that also holds EMA weights")
    boolean noEma;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch threads (0: libtorch's default)")
    int threads;

    @Option(names = "--out", paramLabel = "FILE", description = "JSON result file (default: eval-bpd.json beside the model)")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
        }
        if (samples < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--samples must be >= 1, got " + samples);
        }
        if (limit < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be >= 0, got " + limit);
        }
        if (threads > 0) {
            Runtime.setThreads(threads);
        }
        ModelFile.Loaded loaded = CliModels.load(model, !noEma, nonFinite);
        var config = loaded.model().config();
        Likelihood kind = conditional ? Likelihood.LABEL : likelihood.likelihood;
        ImageDataset opened;
        try {
            opened = Datasets.open(data, imageLimit.apply(DataOptions.defaults()).withImageSize(config.imageSize())
                    .withChannels(config.inChannels()).withResize(resize ? ResizePolicy.RESIZE : ResizePolicy.REFUSE));
        } catch (DataException e) {
            if (resize || !e.getMessage().contains("resize policy REFUSE")) {
                throw e;
            }
            throw new DataException("--data " + data + ": " + e.getMessage() + "; the model takes "
                    + config.imageSize() + "x" + config.imageSize() + " images (--resize evaluates resized ones)");
        }
        ImageDataset dataset = CliModels.limit(opened, limit);
        DatasetBpd.Result r;
        long start = System.nanoTime();
        try (ProgressBar bar = new ProgressBar(System.err, dataset.size(), "images");
                Autocast a = precisionOption.precision.autocast()) {
            r = DatasetBpd.evaluate(loaded.model(), dataset, DatasetBpd.Options.of(batch, Dequantizer.uniform(seed))
                    .withDraws(samples).withLikelihood(kind).withPrior(likelihood.prior).withProgress(bar));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("bits/dim %.4f +- %.4f (standard error) on %d images of %s, %d draw(s), seed %d, %s"
                + " likelihood, %s prior, %s, %.1f s%n", r.mean(), r.standardError(), r.images(), data, samples, seed,
                kind.flag(), likelihood.prior.flag(), precisionOption.precision, seconds);
        ObjectNode json = EvalReport.start("bpd", model);
        json.put("data", data);
        json.put("images", r.images());
        json.put("bits_per_dim", r.mean());
        json.put("standard_error", r.standardError());
        json.put("dequantization", Dequantizer.describe(false, seed) + ", bins of 1/128 on [-1,1]");
        json.put("draws", samples);
        json.put("seed", seed);
        json.put("likelihood", kind.flag());
        json.put("prior", likelihood.prior.flag());
        json.put("conditional", kind == Likelihood.LABEL && config.conditional());
        json.put("ema", loaded.usedEma());
        json.put("batch", batch);
        json.put("precision", precisionOption.precision.toString());
        json.put("seconds", seconds);
        Path target = EvalReport.beside(model, out, "eval-bpd.json");
        EvalReport.write(target, json);
        System.err.println("wrote " + target);
        return 0;
    }
}
