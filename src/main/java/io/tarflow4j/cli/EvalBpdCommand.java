package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataException;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.data.ResizePolicy;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.ProgressBar;
import io.tarflow4j.tensor.Autocast;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval bpd --model CKPT --data D}. */
@Command(
        name = "bpd",
        mixinStandardHelpOptions = true,
        description = {
            "Bits per dimension of a dataset, as the reference evaluates it: 8-bit pixels dequantised",
            "with uniform noise (bins of 1/128 on [-1,1]) derived from a seed and each image (or at the bin",
            "centres with --center), so every image gets the figure tarflow score gives it; mean and standard",
            "error over images. --prior standard gives the reference's figure for VP models. Writes",
            "eval-bpd.json next to the model (or --out)."
        })
final class EvalBpdCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model;

    @Option(
            names = "--data",
            defaultValue = "fashion-mnist-test",
            paramLabel = "D",
            description = "fashion-mnist-test (default), fashion-mnist, an IDX images file or an image folder")
    String data;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    LimitOption limit;

    @Option(
            names = "--resize",
            description = "bring images of another size to the model's (shorter side scaled,"
                    + " centre cropped); without it a dataset of another size is refused, as its bits/dim would not be"
                    + " the dataset's")
    boolean resize;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(500);

    @Option(
            names = "--samples",
            defaultValue = "1",
            paramLabel = "K",
            description = "dequantisation draws per image, averaged (default ${DEFAULT-VALUE})")
    int samples;

    @CommandLine.Mixin
    DequantizationOptions dequantization;

    @CommandLine.Mixin
    LikelihoodOptions likelihood;

    @Option(names = "--conditional", description = "the same as --likelihood label")
    boolean conditional;

    @CommandLine.Mixin
    PrecisionOption precisionOption;

    @CommandLine.Mixin
    ReportOption report;

    @Override
    public Integer call() throws Exception {
        int batchSize = batch.size();
        if (samples < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--samples must be >= 1, got " + samples);
        }
        limit.count();
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        ModelFile.Loaded loaded = model.load();
        var config = loaded.model().config();
        Likelihood kind = conditional ? Likelihood.LABEL : likelihood.likelihood;
        ImageDataset opened;
        try {
            opened = Datasets.open(
                    data, imageLimit.forModel(config).withResize(resize ? ResizePolicy.RESIZE : ResizePolicy.REFUSE));
        } catch (DataException e) {
            if (resize || !e.getMessage().contains("resize policy REFUSE")) {
                throw e;
            }
            throw new DataException("--data " + data + ": " + e.getMessage() + "; the model takes " + config.imageSize()
                    + "x" + config.imageSize() + " images (--resize evaluates resized ones)");
        }
        ImageDataset dataset = limit.apply(opened);
        DatasetBpd.Result r;
        long start = System.nanoTime();
        try (ProgressBar bar = new ProgressBar(stderr, dataset.size(), "images");
                Autocast a = precisionOption.precision.autocast()) {
            r = DatasetBpd.evaluate(
                    loaded.model(),
                    dataset,
                    DatasetBpd.Options.of(batchSize, dequantization.dequantizer())
                            .withDraws(samples)
                            .withLikelihood(kind)
                            .withPrior(likelihood.prior())
                            .withProgress(bar));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        stdout.printf(
                "bits/dim %.4f +- %.4f (standard error) on %d images of %s, %d draw(s), seed %d, %s"
                        + " likelihood, %s prior, %s, %.1f s%n",
                r.mean(),
                r.standardError(),
                r.images(),
                data,
                samples,
                dequantization.seed,
                kind.flag(),
                likelihood.prior().flag(),
                precisionOption.precision,
                seconds);
        ObjectNode json = report.start(model.path);
        json.put("data", data);
        json.put("images", r.images());
        json.put("bits_per_dim", r.mean());
        json.put("standard_error", r.standardError());
        json.put("dequantization", dequantization.describe() + ", bins of 1/128 on [-1,1]");
        json.put("draws", samples);
        json.put("seed", dequantization.seed);
        json.put("likelihood", kind.flag());
        json.put("prior", likelihood.prior().flag());
        json.put("conditional", kind == Likelihood.LABEL && config.conditional());
        json.put("ema", loaded.usedEma());
        json.put("batch", batchSize);
        json.put("precision", precisionOption.precision.toString());
        json.put("seconds", seconds);
        stderr.println("wrote " + report.write(model.path, json));
        return 0;
    }
}
