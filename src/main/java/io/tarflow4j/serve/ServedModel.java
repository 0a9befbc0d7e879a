package io.tarflow4j.serve;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.JacobiStrategy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The model being served and what the server tells clients about it.
 *
 * @param model the model (used only on the model worker's thread)
 * @param name the model file's name, shown on the page
 * @param metadata the file's metadata
 * @param usedEma whether the EMA weights were loaded
 * @param classNames one name per class (from the checkpoint's {@code class_names}, else
 *     {@code "class N"}); empty for an unconditional model
 * @param classNamesFromFile whether the names came from the checkpoint
 * @param sigma the training noise std used by denoising, or NaN when unknown (denoising is then
 *     refused)
 * @param strategy the GS-Jacobi strategy of {@code "sampler": "jacobi"} requests, or null for the
 *     sampling package's default ({@link JacobiStrategy#defaultFor})
 * @param strategyName where the strategy came from (the file's name), or {@code "default"}
 */
public record ServedModel(
        TarFlow model,
        String name,
        Map<String, String> metadata,
        boolean usedEma,
        List<String> classNames,
        boolean classNamesFromFile,
        double sigma,
        JacobiStrategy strategy,
        String strategyName) {

    /** Copies the lists and maps; checks the strategy against the model. */
    public ServedModel {
        metadata = Map.copyOf(metadata);
        classNames = List.copyOf(classNames);
        if (strategy != null) {
            strategy.requireBlocks(model.config().numBlocks());
        }
        if (strategyName == null) {
            strategyName = "default";
        }
    }

    /** A served model with the default GS-Jacobi strategy. */
    public ServedModel(
            TarFlow model,
            String name,
            Map<String, String> metadata,
            boolean usedEma,
            List<String> classNames,
            boolean classNamesFromFile,
            double sigma) {
        this(model, name, metadata, usedEma, classNames, classNamesFromFile, sigma, null, null);
    }

    /**
     * This model with the GS-Jacobi strategy of a file written by {@code tarflow calibrate}.
     *
     * @throws IOException naming the file: missing, not a strategy file, or made for a model with
     *     another number of blocks
     */
    public ServedModel withStrategy(Path file) throws IOException {
        JacobiStrategy s = JacobiStrategy.read(file);
        try {
            return new ServedModel(
                    model,
                    name,
                    metadata,
                    usedEma,
                    classNames,
                    classNamesFromFile,
                    sigma,
                    s,
                    file.getFileName().toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(
                    file + ": " + e.getMessage() + " (" + name + "); calibrate a strategy for this"
                            + " model with tarflow calibrate",
                    e);
        }
    }

    /**
     * The model of a loaded file.
     *
     * @param loaded the file
     * @param sigmaOverride the training noise std to use instead of the file's, or NaN to use the
     *     file's {@code noise} metadata (NaN when it has none)
     * @throws IllegalArgumentException when the override is not finite and positive, or the file's
     *     {@code class_names} does not name every class
     */
    public static ServedModel of(ModelFile.Loaded loaded, double sigmaOverride) {
        if (!Double.isNaN(sigmaOverride) && !(sigmaOverride > 0 && Double.isFinite(sigmaOverride))) {
            throw new IllegalArgumentException("--sigma must be finite and > 0, got " + sigmaOverride);
        }
        TarFlowConfig config = loaded.model().config();
        String recorded = loaded.metadata().get(ModelFile.CLASS_NAMES);
        List<String> names = new ArrayList<>();
        boolean fromFile = false;
        if (recorded != null && config.numClasses() > 0) {
            List<String> parts =
                    Arrays.stream(recorded.split(",", -1)).map(String::strip).toList();
            if (parts.size() != config.numClasses()) {
                throw new IllegalArgumentException(loaded.source() + ": metadata class_names has " + parts.size()
                        + " names, the model has " + config.numClasses() + " classes");
            }
            names.addAll(parts);
            fromFile = true;
        } else {
            for (int c = 0; c < config.numClasses(); c++) {
                names.add("class " + c);
            }
        }
        double sigma = Double.isNaN(sigmaOverride) ? loaded.sigma(Double.NaN) : sigmaOverride;
        return new ServedModel(
                loaded.model(),
                loaded.source().getFileName().toString(),
                loaded.metadata(),
                loaded.usedEma(),
                names,
                fromFile,
                sigma);
    }

    /** The architecture. */
    public TarFlowConfig config() {
        return model.config();
    }

    /** Whether the model is class-conditional. */
    public boolean conditional() {
        return model.config().numClasses() > 0;
    }

    /** Whether denoising is possible (the training noise is known). */
    public boolean canDenoise() {
        return !Double.isNaN(sigma);
    }
}
