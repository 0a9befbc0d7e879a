package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.BayesClassifier;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.ProgressBar;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval classify --model CKPT --data D}. */
@Command(
        name = "classify",
        mixinStandardHelpOptions = true,
        description = {
            "The generative Bayes classifier of a class-conditional model: p(y|x) ~ p(x|y) with a",
            "uniform prior, all classes in one forward pass per batch (each image takes one row per class).",
            "Prints the accuracy and the confusion matrix; writes eval-classify.json next to the model (or --out)."
        })
final class EvalClassifyCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model;

    @Option(
            names = "--data",
            defaultValue = "fashion-mnist-test",
            paramLabel = "D",
            description = "labelled dataset: fashion-mnist-test (default), an IDX file with labels, a class folder")
    String data;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    LimitOption limit;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(50);

    @CommandLine.Mixin
    DequantizationOptions dequantization;

    @CommandLine.Mixin
    PriorOption prior;

    @CommandLine.Mixin
    ReportOption report;

    @Override
    public Integer call() throws Exception {
        int batchSize = batch.size();
        limit.count();
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        ModelFile.Loaded loaded = model.load();
        var config = loaded.model().config();
        if (!config.conditional()) {
            throw new IllegalArgumentException(
                    model.path + ": the model is unconditional; eval classify needs a" + " class-conditional model");
        }
        ImageDataset dataset = limit.apply(Datasets.open(data, imageLimit.forModel(config)));
        BayesClassifier.Result r;
        long start = System.nanoTime();
        try (ProgressBar bar = new ProgressBar(stderr, dataset.size(), "images")) {
            r = BayesClassifier.evaluate(
                    loaded.model(), dataset, batchSize, dequantization.dequantizer(), prior.prior, bar);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        stdout.printf(
                "Bayes classifier accuracy %.4f on %d images (%d classes), %.1f s%n",
                r.accuracy(), r.images(), config.numClasses(), seconds);
        stdout.printf("mean bits/dim given the true class %.4f%n", r.meanBitsPerDimTrueClass());
        stdout.print(BayesClassifier.format(r.confusion(), dataset.classNames()));
        ObjectNode json = report.start(model.path);
        json.put("data", data);
        json.put("images", r.images());
        json.put("accuracy", r.accuracy());
        json.put("mean_bits_per_dim_true_class", r.meanBitsPerDimTrueClass());
        json.put("class_prior", "uniform");
        json.put("prior", prior.prior.flag());
        json.put("dequantization", dequantization.describe());
        json.put("ema", loaded.usedEma());
        json.set("class_names", EvalReport.mapper().valueToTree(dataset.classNames()));
        json.set("per_class_accuracy", EvalReport.mapper().valueToTree(r.perClassAccuracy()));
        ArrayNode rows = json.putArray("confusion");
        for (long[] row : r.confusion()) {
            rows.add(EvalReport.mapper().valueToTree(row));
        }
        json.put("seconds", seconds);
        stderr.println("wrote " + report.write(model.path, json));
        return 0;
    }
}
