package io.tarflow4j.evaluation;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.Ops;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.StateDicts;
import io.tarflow4j.tensor.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A small convolutional Fashion-MNIST classifier, the feature extractor of the FD-FMNIST sample
 * metric and the judge of class-conditional samples:
 *
 * <pre>
 * conv 3x3 1-&gt;16, ReLU, max-pool 2   (28 -&gt; 14)
 * conv 3x3 16-&gt;32, ReLU, max-pool 2  (14 -&gt; 7)
 * linear 1568-&gt;128, ReLU             = the 128 features
 * linear 128-&gt;10                     = class logits
 * </pre>
 *
 * <p>Input: images (B, 1, 28, 28) in [-1, 1]. 206,922 float32 parameters (about 0.8 MB); the
 * bundled weights ({@code models/fmnist-classifier.safetensors}) are made by
 * {@code tarflow train-classifier} (see {@link ClassifierTraining}).
 */
public final class FmnistClassifier {
    /** Image side the classifier takes. */
    public static final int SIZE = 28;
    /** Dimension of the penultimate-layer features. */
    public static final int FEATURES = 128;
    /** Number of classes. */
    public static final int CLASSES = 10;
    /** Where the bundled weights live, relative to the repository root. */
    public static final Path BUNDLED = Path.of("models", "fmnist-classifier.safetensors");

    private static final Map<String, long[]> SHAPES = shapes();

    private final Map<String, Tensor> parameters;

    private FmnistClassifier(Map<String, Tensor> parameters) {
        this.parameters = Collections.unmodifiableMap(parameters);
        parameters.values().forEach(Tensor::retainReference);
    }

    private static Map<String, long[]> shapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("conv1.weight", new long[] {16, 1, 3, 3});
        m.put("conv1.bias", new long[] {16});
        m.put("conv2.weight", new long[] {32, 16, 3, 3});
        m.put("conv2.bias", new long[] {32});
        m.put("fc1.weight", new long[] {FEATURES, 32 * 7 * 7});
        m.put("fc1.bias", new long[] {FEATURES});
        m.put("fc2.weight", new long[] {CLASSES, FEATURES});
        m.put("fc2.bias", new long[] {CLASSES});
        return Collections.unmodifiableMap(m);
    }

    /**
     * A freshly initialised classifier (PyTorch's default: uniform in +-1/sqrt(fan_in)) from
     * libtorch's default generator; seed it first with {@code Runtime.seed} to repeat.
     */
    public static FmnistClassifier initialised() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        try (GradMode g = GradMode.off()) {
            for (var e : SHAPES.entrySet()) {
                long[] shape = e.getValue();
                String layer = e.getKey().substring(0, e.getKey().indexOf('.'));
                long[] w = SHAPES.get(layer + ".weight");
                long fanIn = 1;
                for (int i = 1; i < w.length; i++) {
                    fanIn *= w[i];
                }
                double bound = 1 / Math.sqrt(fanIn);
                Tensor t = torch.rand(shape, new TensorOptions(ScalarType.Float))
                        .mul(Ops.s(2 * bound))
                        .sub(Ops.s(bound));
                p.put(e.getKey(), t);
            }
        }
        p.values().forEach(t -> t.requires_grad_(true));
        return new FmnistClassifier(p);
    }

    /** A classifier with the given weights (names and shapes as {@link #initialised()} makes). */
    public static FmnistClassifier fromState(Map<String, Tensor> state) {
        List<String> problems = StateDicts.problems(SHAPES, StateDicts.shapes(state), name -> false, name -> false);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(
                    "not a Fashion-MNIST classifier state: " + StateDicts.summary(problems, 20));
        }
        Map<String, Tensor> p = new LinkedHashMap<>();
        for (String k : SHAPES.keySet()) {
            Tensor t = state.get(k).to(ScalarType.Float).clone();
            if (!Double.isFinite(Tensors.item(t.sum()))) {
                throw new IllegalArgumentException("classifier weight " + k + " holds NaN or infinite values");
            }
            p.put(k, t);
        }
        return new FmnistClassifier(p);
    }

    /** Loads weights written by {@link #save}. */
    public static FmnistClassifier load(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(
                    path.toString(),
                    null,
                    "classifier weights not found (make them with: tarflow train-classifier --out " + path + ")");
        }
        try (SafetensorsFile f = Safetensors.read(path)) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            f.tensors().forEach((k, v) -> state.put(k, RawTensors.toTensor(v)));
            try {
                return fromState(state);
            } catch (IllegalArgumentException e) {
                throw new IOException(path + ": " + e.getMessage(), e);
            }
        }
    }

    /** Finds the bundled weights: under {@code tarflow.home} (set by the launcher) or the working directory. */
    public static Path locateBundled() throws NoSuchFileException {
        List<Path> candidates = new ArrayList<>();
        String home = System.getProperty("tarflow.home");
        if (home != null && !home.isBlank()) {
            candidates.add(Path.of(home).resolve(BUNDLED));
        }
        candidates.add(BUNDLED.toAbsolutePath());
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new NoSuchFileException(
                candidates.toString(),
                null,
                "bundled Fashion-MNIST classifier not found; pass --classifier FILE or run tarflow train-classifier");
    }

    /** Writes the weights as safetensors (atomically) with a description in the metadata. */
    public void save(Path path, Map<String, String> metadata) throws IOException {
        Map<String, RawTensor> raw = new LinkedHashMap<>();
        parameters.forEach((k, v) -> raw.put(k, RawTensors.fromTensor(v.detach())));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("architecture", "fmnist-cnn: conv3x3 1-16, pool, conv3x3 16-32, pool, fc 1568-128, fc 128-10");
        meta.putAll(metadata);
        Safetensors.write(path, raw, meta);
    }

    /** Parameters by name, in a fixed order (live tensors, for the optimiser). */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /** The 128 penultimate-layer features (B, 128) of images (B, 1, 28, 28) in [-1, 1]. */
    public Tensor features(Tensor images) {
        long[] s = Tensors.shape(images);
        if (s.length != 4 || s[1] != 1 || s[2] != SIZE || s[3] != SIZE) {
            throw new IllegalArgumentException(
                    "the Fashion-MNIST classifier takes images (B, 1, 28, 28), got " + Arrays.toString(s));
        }
        Tensor x = images.to(ScalarType.Float);
        x = pool(torch.relu(conv(x, "conv1")));
        x = pool(torch.relu(conv(x, "conv2")));
        x = x.flatten(1, -1);
        return torch.relu(Ops.linear(x, parameters.get("fc1.weight"), parameters.get("fc1.bias")));
    }

    /** Class logits (B, 10) of images (B, 1, 28, 28) in [-1, 1]. */
    public Tensor logits(Tensor images) {
        return logitsFromFeatures(features(images));
    }

    /** Class logits from features (B, 128). */
    public Tensor logitsFromFeatures(Tensor features) {
        return Ops.linear(features, parameters.get("fc2.weight"), parameters.get("fc2.bias"));
    }

    private Tensor conv(Tensor x, String name) {
        return torch.conv2d(
                x,
                parameters.get(name + ".weight"),
                new TensorOptional(parameters.get(name + ".bias")),
                new long[] {1, 1},
                new long[] {1, 1},
                new long[] {1, 1},
                1);
    }

    private static Tensor pool(Tensor x) {
        return torch.max_pool2d(x, new long[] {2, 2}, new long[] {2, 2}, new long[] {0, 0}, new long[] {1, 1}, false);
    }
}
