package io.tarflow4j.checkpoint;

import io.tarflow4j.model.ReferenceKeys;
import io.tarflow4j.model.TarFlowConfig;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The configuration of a model file, checked against the tensors the file holds before anything
 * is allocated: the model a file describes can never be larger than the values it carries, so a
 * crafted {@code num_blocks}, {@code num_classes} or {@code img_size} fails here in one line
 * instead of asking libtorch for hundreds of gigabytes. The configuration's own bounds are
 * {@link TarFlowConfig}'s.
 */
public final class ModelFileCheck {
    private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d{1,9})\\..*");
    private static final Pattern LAYER = Pattern.compile("blocks\\.(\\d{1,9})\\.attn_blocks\\.(\\d{1,9})\\..*");

    private ModelFileCheck() {}

    /**
     * The configuration a file's weights describe: from its metadata when that holds the
     * reference keys, else inferred from the shapes; either way checked against the shapes.
     *
     * @param metadata the file's metadata (possibly empty)
     * @param shapes the weights' names (reference names) and shapes
     * @param channels image channels when they must be inferred (0: infer)
     * @param headDim attention head size when not recorded (0: 64)
     * @throws IllegalArgumentException naming the first key or tensor that does not fit
     */
    public static TarFlowConfig config(
            Map<String, String> metadata, Map<String, long[]> shapes, int channels, int headDim) {
        TarFlowConfig config = ReferenceKeys.present(metadata)
                ? ReferenceKeys.toConfig(metadata)
                : ConfigInference.infer(shapes, channels, headDim);
        againstTensors(config, shapes);
        return config;
    }

    /**
     * Checks that {@code shapes} can fill a model of {@code config}: the same number of blocks and
     * of layers in each, the input, position, class and output tensors of every block shaped as
     * the configuration says (with the first MLP of each), and no more parameters than the tensors
     * hold values.
     *
     * @throws IllegalArgumentException naming the first mismatch
     */
    public static void againstTensors(TarFlowConfig config, Map<String, long[]> shapes) {
        int[] layers = new int[config.numBlocks()];
        int fileBlocks = 0;
        long values = 0;
        for (var e : shapes.entrySet()) {
            values = saturatingAdd(values, numel(e.getValue()));
            Matcher b = BLOCK.matcher(e.getKey());
            if (!b.matches()) {
                continue;
            }
            int block = Integer.parseInt(b.group(1));
            fileBlocks = Math.max(fileBlocks, block + 1);
            Matcher l = LAYER.matcher(e.getKey());
            if (l.matches() && block < layers.length) {
                layers[block] = Math.max(layers[block], Integer.parseInt(l.group(2)) + 1);
            }
        }
        if (fileBlocks != config.numBlocks()) {
            throw new IllegalArgumentException("the configuration has " + config.numBlocks()
                    + " blocks (num_blocks) but the tensors hold " + fileBlocks);
        }
        long d = config.tokenDim();
        long c = config.width();
        for (int i = 0; i < layers.length; i++) {
            String p = "blocks." + i + ".";
            if (layers[i] != config.layersPerBlock().get(i)) {
                throw new IllegalArgumentException(
                        "the configuration has " + config.layersPerBlock().get(i) + " layers in block " + i
                                + " (layers_per_block) but the tensors hold " + layers[i]);
            }
            shape(shapes, p + "proj_in.weight", "channels x in_channels*patch_size^2", c, d);
            shape(shapes, p + "pos_embed", "tokens x channels", config.numTokens(), c);
            shape(
                    shapes,
                    p + "attn_blocks.0.mlp.main.0.weight",
                    "mlp_expansion*channels x channels",
                    (long) config.mlpExpansion() * c,
                    c);
            shape(
                    shapes,
                    p + "proj_out.weight",
                    (config.nvp() ? "2*" : "") + "in_channels*patch_size^2 x channels",
                    config.nvp() ? 2 * d : d,
                    c);
            if (config.conditional()) {
                shape(shapes, p + "class_embed", "num_classes x 1 x channels", config.numClasses(), 1, c);
            } else if (shapes.containsKey(p + "class_embed")) {
                throw new IllegalArgumentException("the configuration has no classes (num_classes 0) but the"
                        + " tensors hold " + p + "class_embed");
            }
        }
        long parameters = config.parameterCount();
        if (parameters > values) {
            throw new IllegalArgumentException("the configuration (" + config.describe() + ") needs " + parameters
                    + " parameters but the tensors hold only " + values + " values");
        }
    }

    private static void shape(Map<String, long[]> shapes, String name, String what, long... expected) {
        long[] s = shapes.get(name);
        if (s == null) {
            throw new IllegalArgumentException("tensor " + name + " is missing");
        }
        if (!Arrays.equals(s, expected)) {
            throw new IllegalArgumentException("tensor " + name + " has shape " + Arrays.toString(s)
                    + ", but the configuration gives " + Arrays.toString(expected) + " (" + what + ")");
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                return 0;
            }
            n = s == 0 ? 0 : n > Long.MAX_VALUE / s ? Long.MAX_VALUE : n * s;
        }
        return n;
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return r < 0 ? Long.MAX_VALUE : r;
    }
}
