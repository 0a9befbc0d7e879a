package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.BayesClassifier;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.Prior;
import io.tarflow4j.evaluation.ProgressBar;
import io.tarflow4j.tensor.Runtime;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval classify --model CKPT --data D}. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = {"The generative Bayes classifier of a class-conditional model: p(y|x) ~ p(x|y) with a",
            "uniform prior, all classes in one forward pass per batch. Prints the accuracy and the",
            "confusion matrix; writes eval-classify.json next to the model (or --out)."})
final class EvalClassifyCommand implements Callable<Integer> {
    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "class-conditional model file")
    Path model;

    @Option(names = "--data", defaultValue = "fashion-mnist-test", paramLabel = "D",
            description = "labelled dataset: fashion-mnist-test (default), an IDX file with labels, a class folder")
    String data;

    @Option(names = "--batch", defaultValue = "50",
            description = "images per batch; each image takes one row per class in the forward passes (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--seed", defaultValue = "0", description = "dequantisation noise seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--prior", paramLabel = "P", defaultValue = "learned", converter = LikelihoodOptions.PriorConverter.class,
            description = "Gaussian prior of a VP model: learned (default) or standard (N(0,I), the reference's)")
    Prior prior;

    @Option(names = "--center", description = "dequantise at the bin centres instead of with seeded noise")
    boolean center;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N", description = "classify the first N images only (0: all)")
    int limit;

    @Option(names = "--no-ema", description = "use the raw weights of a checkpoint that also holds EMA weights")
    boolean noEma;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch threads (0: libtorch's default)")
    int threads;

    @Option(names = "--out", paramLabel = "FILE", description = "JSON result file (default: eval-classify.json beside the model)")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
        }
        if (limit < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be >= 0, got " + limit);
        }
        if (threads > 0) {
            Runtime.setThreads(threads);
        }
        ModelFile.Loaded loaded = CliModels.load(model, !noEma, nonFinite);
        var config = loaded.model().config();
        if (!config.conditional()) {
            throw new IllegalArgumentException(model + ": the model is unconditional; eval classify needs a"
                    + " class-conditional model");
        }
        ImageDataset dataset = CliModels.limit(Datasets.open(data, imageLimit.apply(DataOptions.defaults())
                .withImageSize(config.imageSize()).withChannels(config.inChannels())), limit);
        BayesClassifier.Result r;
        long start = System.nanoTime();
        try (ProgressBar bar = new ProgressBar(System.err, dataset.size(), "images")) {
            r = BayesClassifier.evaluate(loaded.model(), dataset, batch,
                    center ? Dequantizer.center() : Dequantizer.uniform(seed), prior, bar);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("Bayes classifier accuracy %.4f on %d images (%d classes), %.1f s%n", r.accuracy(),
                r.images(), config.numClasses(), seconds);
        System.out.printf("mean bits/dim given the true class %.4f%n", r.meanBitsPerDimTrueClass());
        System.out.print(BayesClassifier.format(r.confusion(), dataset.classNames()));
        ObjectNode json = EvalReport.start("classify", model);
        json.put("data", data);
        json.put("images", r.images());
        json.put("accuracy", r.accuracy());
        json.put("mean_bits_per_dim_true_class", r.meanBitsPerDimTrueClass());
        json.put("class_prior", "uniform");
        json.put("prior", prior.flag());
        json.put("dequantization", Dequantizer.describe(center, seed));
        json.put("ema", loaded.usedEma());
        json.set("class_names", EvalReport.mapper().valueToTree(dataset.classNames()));
        json.set("per_class_accuracy", EvalReport.mapper().valueToTree(r.perClassAccuracy()));
        ArrayNode rows = json.putArray("confusion");
        for (long[] row : r.confusion()) {
            rows.add(EvalReport.mapper().valueToTree(row));
        }
        json.put("seconds", seconds);
        Path target = EvalReport.beside(model, out, "eval-classify.json");
        EvalReport.write(target, json);
        System.err.println("wrote " + target);
        return 0;
    }
}
