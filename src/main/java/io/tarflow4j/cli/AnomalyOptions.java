package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.AnomalyMethod;
import io.tarflow4j.evaluation.AnomalyReference;
import io.tarflow4j.evaluation.AnomalyStatistics;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.ProgressBar;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The anomaly-score flags of {@code score} and {@code eval ood} (a picocli mixin). */
final class AnomalyOptions {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--method",
            paramLabel = "M[,M...]",
            split = ",",
            description = "anomaly scores: raw (bits/dim), complexity (bits/dim minus a lossless compressor's bits/dim,"
                    + " Serra et al. 2020), combined (Fisher's combination of the raw and complexity scores'"
                    + " upper-tail p-values against --reference images)")
    List<String> names;

    @Option(
            names = "--reference",
            paramLabel = "D",
            description = "normal images for the combined score: a held-out set from the training distribution"
                    + " (fashion-mnist, an IDX file or an image folder)")
    String reference;

    @Option(
            names = "--reference-limit",
            paramLabel = "N",
            defaultValue = "2000",
            description = "use the first N reference images (default ${DEFAULT-VALUE}; 0: all)")
    int referenceLimit;

    /** The methods asked for, or {@code defaults} when none was. */
    List<AnomalyMethod> methods(List<AnomalyMethod> defaults) {
        if (referenceLimit < 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--reference-limit must be >= 0, got " + referenceLimit);
        }
        if (names == null || names.isEmpty()) {
            return defaults;
        }
        List<AnomalyMethod> out = new ArrayList<>();
        for (String name : names) {
            try {
                out.add(AnomalyMethod.parse(name.strip()));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
        }
        for (AnomalyMethod m : out) {
            if (m.needsReference() && reference == null) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "--method " + m.flag()
                                + " needs --reference D: normal images held out from the model's training distribution");
            }
        }
        return out;
    }

    /**
     * The reference statistics when a method needs them and --reference names data (read with
     * {@code data}), else null.
     */
    AnomalyReference reference(
            ModelFile.Loaded loaded,
            List<AnomalyMethod> methods,
            LikelihoodOptions likelihood,
            int batch,
            long seed,
            DataOptions data)
            throws IOException {
        if (reference == null || methods.stream().noneMatch(AnomalyMethod::needsReference)) {
            return null;
        }
        ImageDataset images = LimitOption.first(Datasets.open(reference, data), referenceLimit);
        try (ProgressBar bar = new ProgressBar(spec.commandLine().getErr(), images.size(), "reference images")) {
            return AnomalyStatistics.of(
                            loaded.model(),
                            images,
                            batch,
                            Dequantizer.uniform(seed),
                            likelihood.likelihood,
                            likelihood.prior(),
                            bar)
                    .reference();
        }
    }
}
