package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.AnomalyMethod;
import io.tarflow4j.evaluation.AnomalyReference;
import io.tarflow4j.evaluation.AnomalyStatistics;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.OodMetrics;
import io.tarflow4j.evaluation.ProgressBar;
import io.tarflow4j.evaluation.ScoreHistogram;
import io.tarflow4j.tensor.Runtime;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval ood --model CKPT --in D --ood D}: how well anomaly scores separate two datasets. */
@Command(name = "ood", mixinStandardHelpOptions = true,
        description = {"Out-of-distribution detection: scores every image of --in (normal) and --ood (anomalous)",
            "with each anomaly method (the same scores as tarflow score) and prints per method the AUROC,",
            "the AUPR (out-of-distribution as positives) and the false-positive rate at 95% true positives.",
            "Writes eval-ood.json and a histogram of the scores, eval-ood.png, next to the model (or --out,",
            "--histogram); --json prints the JSON object instead of the table."})
final class EvalOodCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @CommandLine.Mixin
    LikelihoodOptions likelihood;

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "model file")
    Path model;

    @Option(names = "--in", defaultValue = "fashion-mnist-test", paramLabel = "D",
            description = "in-distribution data: fashion-mnist-test (default), an IDX images file or an image folder")
    String in;

    @Option(names = "--ood", required = true, paramLabel = "D",
            description = "out-of-distribution data: an IDX images file, an image folder or a bundled name")
    String ood;

    @CommandLine.Mixin
    AnomalyOptions anomaly;

    @Option(names = "--limit", defaultValue = "0", paramLabel = "N",
            description = "use the first N images of each dataset (0: all)")
    int limit;

    @Option(names = "--seed", defaultValue = "0", description = "dequantisation noise seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--batch", defaultValue = "200", description = "images per batch (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--json", description = "print one JSON object (methods -> auroc, aupr, fpr95) instead of the table")
    boolean json;

    @Option(names = "--out", paramLabel = "FILE", description = "JSON result file (default: eval-ood.json beside the model)")
    Path out;

    @Option(names = "--histogram", paramLabel = "PNG", description = "histogram figure (default: eval-ood.png beside the model)")
    Path histogram;

    @Option(names = "--no-ema", description = "use the raw weights of a checkpoint that also holds EMA weights")
    boolean noEma;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch threads (0: libtorch's default)")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
        }
        if (limit < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--limit must be >= 0, got " + limit);
        }
        likelihood.withoutLabels(spec);
        if (anomaly.reference == null && in.equals(Datasets.FASHION_MNIST_TEST)) {
            anomaly.reference = Datasets.FASHION_MNIST; // the training split: normal images other than --in's
        }
        List<AnomalyMethod> methods = anomaly.methods(spec, anomaly.reference == null
                ? List.of(AnomalyMethod.RAW, AnomalyMethod.COMPLEXITY) : List.of(AnomalyMethod.values()));
        if (threads > 0) {
            Runtime.setThreads(threads);
        }
        ModelFile.Loaded loaded = CliModels.load(model, !noEma, nonFinite);
        var config = loaded.model().config();
        DataOptions options = imageLimit.apply(DataOptions.defaults()).withImageSize(config.imageSize()).withChannels(config.inChannels());
        ImageDataset inData = CliModels.limit(Datasets.open(in, options), limit);
        ImageDataset oodData = CliModels.limit(Datasets.open(ood, options), limit);
        long start = System.nanoTime();
        AnomalyReference reference = anomaly.reference(loaded, methods, likelihood, batch, seed);
        double[][] inScores = scores(loaded, inData, methods, reference, "in");
        double[][] oodScores = scores(loaded, oodData, methods, reference, "ood");
        double seconds = (System.nanoTime() - start) / 1e9;

        ObjectNode report = EvalReport.start("ood", model);
        report.put("in", in);
        report.put("ood", ood);
        report.put("in_images", inData.size());
        report.put("ood_images", oodData.size());
        report.put("likelihood", likelihood.likelihood.flag());
        report.put("prior", likelihood.prior.flag());
        report.put("dequantization", Dequantizer.describe(false, seed));
        report.put("ema", loaded.usedEma());
        if (reference != null) {
            report.put("reference", anomaly.reference);
            report.put("reference_images", reference.size());
        }
        ObjectNode methodsNode = report.putObject("methods");
        Map<String, ScoreHistogram.Panel> panels = new LinkedHashMap<>();
        StringBuilder table = new StringBuilder(String.format("%-12s %8s %8s %8s%n", "method", "AUROC", "AUPR", "FPR95"));
        for (int m = 0; m < methods.size(); m++) {
            OodMetrics metrics = OodMetrics.of(inScores[m], oodScores[m]);
            String name = methods.get(m).flag();
            ObjectNode o = methodsNode.putObject(name);
            o.put("auroc", metrics.auroc());
            o.put("aupr", metrics.aupr());
            o.put("fpr95", metrics.fpr95());
            o.put("mean_in", mean(inScores[m]));
            o.put("mean_ood", mean(oodScores[m]));
            panels.put(name, new ScoreHistogram.Panel(inScores[m], oodScores[m], metrics));
            table.append(String.format("%-12s %8.4f %8.4f %8.4f%n", name, metrics.auroc(), metrics.aupr(), metrics.fpr95()));
        }
        report.put("seconds", seconds);
        Path figure = EvalReport.beside(model, histogram, "eval-ood.png");
        ScoreHistogram.write(figure, panels, shortName(in), shortName(ood));
        report.put("histogram", figure.toAbsolutePath().toString());
        Path target = EvalReport.beside(model, out, "eval-ood.json");
        EvalReport.write(target, report);
        if (json) {
            System.out.println(EvalReport.mapper().writeValueAsString(report));
        } else {
            System.out.printf("in: %s (%d images), out: %s (%d images), %s likelihood, %s prior, %.1f s%n", in,
                    inData.size(), ood, oodData.size(), likelihood.likelihood.flag(), likelihood.prior.flag(), seconds);
            System.out.print(table);
        }
        System.err.println("wrote " + target + " and " + figure);
        return 0;
    }

    /** [method][image] anomaly scores of a dataset. */
    private double[][] scores(ModelFile.Loaded loaded, ImageDataset data, List<AnomalyMethod> methods,
            AnomalyReference reference, String label) {
        AnomalyStatistics stats;
        try (ProgressBar bar = new ProgressBar(System.err, data.size(), label + " images")) {
            stats = AnomalyStatistics.of(loaded.model(), data, batch, Dequantizer.uniform(seed), likelihood.likelihood,
                    likelihood.prior, bar);
        }
        double[][] out = new double[methods.size()][];
        for (int m = 0; m < methods.size(); m++) {
            out[m] = stats.scores(methods.get(m), reference);
        }
        return out;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static String shortName(String spec) {
        Path p = Path.of(spec).getFileName();
        return p == null ? spec : p.toString();
    }
}
