package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.AnomalyMethod;
import io.tarflow4j.evaluation.AnomalyReference;
import io.tarflow4j.evaluation.AnomalyStatistics;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.OodMetrics;
import io.tarflow4j.evaluation.ProgressBar;
import io.tarflow4j.evaluation.ScoreHistogram;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow eval ood --model CKPT --in D --ood D}: how well anomaly scores separate two datasets. */
@Command(
        name = "ood",
        mixinStandardHelpOptions = true,
        description = {
            "Out-of-distribution detection: scores every image of --in (normal) and --ood (anomalous)",
            "with each anomaly method (the same scores as tarflow score) and prints per method the AUROC,",
            "the AUPR (out-of-distribution as positives) and the false-positive rate at 95% true positives.",
            "Writes eval-ood.json and a histogram of the scores, eval-ood.png, next to the model (or --out,",
            "--histogram); --json prints the JSON object instead of the table."
        })
final class EvalOodCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model;

    @Option(
            names = "--in",
            defaultValue = "fashion-mnist-test",
            paramLabel = "D",
            description = "in-distribution data: fashion-mnist-test (default), an IDX images file or an image folder")
    String in;

    @Option(
            names = "--ood",
            required = true,
            paramLabel = "D",
            description = "out-of-distribution data: an IDX images file, an image folder or a bundled name")
    String ood;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    LimitOption limit;

    @CommandLine.Mixin
    AnomalyOptions anomaly;

    @CommandLine.Mixin
    LikelihoodOptions likelihood;

    @CommandLine.Mixin
    DequantizationOptions dequantization;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(200);

    @Option(
            names = "--json",
            description = "print one JSON object (methods -> auroc, aupr, fpr95) instead of the table")
    boolean json;

    @CommandLine.Mixin
    ReportOption out;

    @Option(
            names = "--histogram",
            paramLabel = "PNG",
            description = "histogram figure (default: eval-ood.png beside the model)")
    Path histogram;

    @Override
    public Integer call() throws Exception {
        batch.size();
        limit.count();
        likelihood.withoutLabels(spec);
        if (anomaly.reference == null && in.equals(Datasets.FASHION_MNIST_TEST)) {
            anomaly.reference = Datasets.FASHION_MNIST; // the training split: normal images other than --in's
        }
        List<AnomalyMethod> methods = anomaly.methods(
                anomaly.reference == null
                        ? List.of(AnomalyMethod.RAW, AnomalyMethod.COMPLEXITY)
                        : List.of(AnomalyMethod.values()));
        PrintWriter stdout = spec.commandLine().getOut();
        ModelFile.Loaded loaded = model.load();
        DataOptions options = imageLimit.forModel(loaded.model().config());
        ImageDataset inData = limit.apply(Datasets.open(in, options));
        ImageDataset oodData = limit.apply(Datasets.open(ood, options));
        long start = System.nanoTime();
        AnomalyReference reference =
                anomaly.reference(loaded, methods, likelihood, batch.size(), dequantization.seed, options);
        double[][] inScores = scores(loaded, inData, methods, reference, "in");
        double[][] oodScores = scores(loaded, oodData, methods, reference, "ood");
        double seconds = (System.nanoTime() - start) / 1e9;

        ObjectNode report = out.start(model.path);
        report.put("in", in);
        report.put("ood", ood);
        report.put("in_images", inData.size());
        report.put("ood_images", oodData.size());
        report.put("likelihood", likelihood.likelihood.flag());
        report.put("prior", likelihood.prior().flag());
        report.put("dequantization", dequantization.describe());
        report.put("ema", loaded.usedEma());
        if (reference != null) {
            report.put("reference", anomaly.reference);
            report.put("reference_images", reference.size());
        }
        ObjectNode methodsNode = report.putObject("methods");
        Map<String, ScoreHistogram.Panel> panels = new LinkedHashMap<>();
        StringBuilder table =
                new StringBuilder(String.format("%-12s %8s %8s %8s%n", "method", "AUROC", "AUPR", "FPR95"));
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
            table.append(
                    String.format("%-12s %8.4f %8.4f %8.4f%n", name, metrics.auroc(), metrics.aupr(), metrics.fpr95()));
        }
        report.put("seconds", seconds);
        Path figure = EvalReport.beside(model.path, histogram, "eval-ood.png");
        ScoreHistogram.write(figure, panels, shortName(in), shortName(ood));
        report.put("histogram", figure.toAbsolutePath().toString());
        Path target = out.write(model.path, report);
        if (json) {
            stdout.println(EvalReport.mapper().writeValueAsString(report));
        } else {
            stdout.printf(
                    "in: %s (%d images), out: %s (%d images), %s likelihood, %s prior, %.1f s%n",
                    in,
                    inData.size(),
                    ood,
                    oodData.size(),
                    likelihood.likelihood.flag(),
                    likelihood.prior().flag(),
                    seconds);
            stdout.print(table);
        }
        spec.commandLine().getErr().println("wrote " + target + " and " + figure);
        return 0;
    }

    /** [method][image] anomaly scores of a dataset. */
    private double[][] scores(
            ModelFile.Loaded loaded,
            ImageDataset data,
            List<AnomalyMethod> methods,
            AnomalyReference reference,
            String label) {
        AnomalyStatistics stats;
        try (ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), data.size(), label + " images")) {
            stats = AnomalyStatistics.of(
                    loaded.model(),
                    data,
                    batch.size(),
                    dequantization.dequantizer(),
                    likelihood.likelihood,
                    likelihood.prior(),
                    bar);
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
