package io.tarflow4j.checkpoint;

import io.tarflow4j.io.PyTorchCheckpoint;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.ReferenceKeys;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.StateDicts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Loads a TarFlow from any file a user may have and saves one in the exchange format.
 *
 * <p>Accepted: our training checkpoints ({@code model.*} weights, {@code ema.*} when trained with
 * an EMA, configuration and training settings in {@code __metadata__}); plain safetensors state
 * dicts with reference names (exported by us, or saved from PyTorch with
 * {@code safetensors.torch.save_file(model.state_dict(), ...)}), with or without configuration
 * metadata; reference fixtures ({@code model.*}); and PyTorch {@code .pth} state dicts read by the
 * restricted reader. Without metadata the configuration is inferred from the tensor shapes.
 */
public final class ModelFile {
    /** Metadata key: training noise ({@code gaussian:SIGMA} or {@code uniform}). */
    public static final String NOISE = "noise";
    /** Metadata key: class names, comma-separated. */
    public static final String CLASS_NAMES = "class_names";

    private ModelFile() {}

    /**
     * Options for {@link #load}.
     *
     * @param channels image channels when they must be inferred (0: infer)
     * @param headDim attention head size when not recorded in the file (0: 64)
     * @param preferEma use the {@code ema.*} weights of a training checkpoint when present
     * @param device where the model lives
     * @param allowNonFinite load weights holding NaN or infinite values instead of refusing them
     */
    public record LoadOptions(int channels, int headDim, boolean preferEma, Device device, boolean allowNonFinite) {
        /** Options that refuse non-finite weights. */
        public LoadOptions(int channels, int headDim, boolean preferEma, Device device) {
            this(channels, headDim, preferEma, device, false);
        }

        /** Defaults: infer, EMA when present, CPU, non-finite weights refused. */
        public static LoadOptions defaults() {
            return new LoadOptions(0, 0, true, new Device("cpu"));
        }

        /** A copy that accepts (true) or refuses non-finite weights. */
        public LoadOptions withAllowNonFinite(boolean allow) {
            return new LoadOptions(channels, headDim, preferEma, device, allow);
        }
    }

    /**
     * A model and what its file said about it.
     *
     * @param model the model with the file's weights
     * @param metadata the file's metadata (configuration keys, training settings), possibly empty
     * @param source the file
     * @param usedEma whether the EMA weights were loaded
     */
    public record Loaded(TarFlow model, Map<String, String> metadata, Path source, boolean usedEma) {
        /** The training noise std recorded in the file, or {@code fallback}. */
        public double sigma(double fallback) {
            String n = metadata.get(NOISE);
            if (n != null && n.startsWith("gaussian:")) {
                return Double.parseDouble(n.substring("gaussian:".length()));
            }
            return fallback;
        }
    }

    /** Loads with default options. */
    public static Loaded load(Path path) throws IOException {
        return load(path, LoadOptions.defaults());
    }

    /**
     * Loads a model file.
     *
     * @throws IOException naming the file, for missing, unreadable or corrupt files and for
     *     tensors that do not fit the configuration
     */
    public static Loaded load(Path path, LoadOptions options) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "model file not found");
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".pth") || name.endsWith(".pt") || name.endsWith(".bin")) {
            return fromTensors(path, PyTorchCheckpoint.read(path), Map.of(), options);
        }
        try (SafetensorsFile f = Safetensors.read(path)) {
            // tensors are copied out of the file's memory mapping before it closes
            return fromTensors(path, f.tensors(), f.metadata(), options);
        }
    }

    private static Loaded fromTensors(
            Path path, Map<String, RawTensor> raw, Map<String, String> metadata, LoadOptions options)
            throws IOException {
        boolean hasEma = raw.keySet().stream().anyMatch(k -> k.startsWith("ema."));
        boolean useEma = options.preferEma() && hasEma;
        boolean prefixed = raw.keySet().stream().anyMatch(k -> k.startsWith("model."));
        String prefix = useEma ? "ema." : prefixed ? "model." : "";
        Map<String, RawTensor> weights = new LinkedHashMap<>();
        for (var e : raw.entrySet()) {
            if (e.getKey().startsWith(prefix) && (!prefix.isEmpty() || isStateName(e.getKey()))) {
                weights.put(e.getKey().substring(prefix.length()), e.getValue());
            }
        }
        if (useEma && !weights.containsKey("var") && raw.containsKey("model.var")) {
            weights.put("var", raw.get("model.var"));
        }
        TarFlowConfig config;
        try {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            weights.forEach((k, v) -> shapes.put(k, v.shape()));
            config = ModelFileCheck.config(metadata, shapes, options.channels(), options.headDim());
        } catch (IllegalArgumentException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
        TarFlow model = TarFlow.forLoading(config, options.device(), ScalarType.Float);
        try {
            model.checkState(RawTensors.shapes(weights));
        } catch (IllegalArgumentException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
        RawTensors.copyAll(weights, model.state()); // straight from the file's mapping, one tensor at a time
        String nonFinite = options.allowNonFinite() ? null : StateDicts.firstNonFinite(model.state());
        if (nonFinite != null) {
            throw new IOException(path + ": tensor " + nonFinite + " holds NaN or infinite values; refusing a model"
                    + " that would score and sample NaN (--allow-nonfinite loads it anyway)");
        }
        return new Loaded(model, metadata, path, useEma);
    }

    /**
     * Writes a model as a safetensors state dict with reference names and its configuration in
     * {@code __metadata__} (atomically). PyTorch loads it with
     * {@code model.load_state_dict(safetensors.torch.load_file(path))}.
     */
    public static void save(Path path, TarFlow model, Map<String, String> extraMetadata) throws IOException {
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        model.state().forEach((k, v) -> tensors.put(k, RawTensors.view(v)));
        Map<String, String> metadata = new LinkedHashMap<>(ReferenceKeys.fromConfig(model.config()));
        metadata.putAll(extraMetadata);
        Safetensors.write(path, tensors, metadata);
    }

    /** Names of a bare reference state dict: {@code blocks.*} and {@code var}. */
    private static boolean isStateName(String name) {
        return name.startsWith("blocks.") || name.equals("var");
    }
}
