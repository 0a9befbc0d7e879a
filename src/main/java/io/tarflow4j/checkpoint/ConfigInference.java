package io.tarflow4j.checkpoint;

import io.tarflow4j.model.TarFlowConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Infers a TarFlow configuration from the names and shapes of a reference state dict:
 * width and token size from {@code proj_in}, the token count (hence image size) from
 * {@code pos_embed}, blocks and layers from the names, classes from {@code class_embed}, NVP vs VP
 * from {@code proj_out}. The head size cannot be seen in the shapes: it is 64 unless given.
 */
public final class ConfigInference {
    private static final Pattern LAYER = Pattern.compile("blocks\\.(\\d+)\\.attn_blocks\\.(\\d+)\\..*");
    private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\..*");

    private ConfigInference() {}

    /**
     * The configuration of a state dict with these tensor shapes.
     *
     * @param shapes tensor name (reference names) to shape
     * @param channels image channels if known, else 0 (then 3 when the token size is 3 p^2, else 1)
     * @param headDim attention head size if known, else 0 (64)
     * @throws IllegalArgumentException naming what is missing or inconsistent
     */
    public static TarFlowConfig infer(Map<String, long[]> shapes, int channels, int headDim) {
        long[] projIn = require(shapes, "blocks.0.proj_in.weight", 2);
        long[] pos = require(shapes, "blocks.0.pos_embed", 2);
        long[] projOut = require(shapes, "blocks.0.proj_out.weight", 2);
        int width = (int) projIn[0];
        int tokenDim = (int) projIn[1];
        int tokens = (int) pos[0];
        int c = channels > 0 ? channels : (tokenDim % 3 == 0 && isSquare(tokenDim / 3) ? 3 : 1);
        if (tokenDim % c != 0 || !isSquare(tokenDim / c)) {
            throw new IllegalArgumentException("token size " + tokenDim + " (blocks.0.proj_in.weight "
                    + "columns) is not channels x patch^2 for " + c + " channels");
        }
        int patch = (int) Math.round(Math.sqrt(tokenDim / (double) c));
        if (!isSquare(tokens)) {
            throw new IllegalArgumentException(
                    "blocks.0.pos_embed has " + tokens + " tokens, not a square number of patches");
        }
        int imageSize = (int) Math.round(Math.sqrt(tokens)) * patch;
        boolean nvp;
        if (projOut[0] == 2L * tokenDim) {
            nvp = true;
        } else if (projOut[0] == tokenDim) {
            nvp = false;
        } else {
            throw new IllegalArgumentException("blocks.0.proj_out.weight has " + projOut[0] + " rows; expected "
                    + 2 * tokenDim + " (NVP) or " + tokenDim + " (VP)");
        }
        long[] classEmbed = shapes.get("blocks.0.class_embed");
        int classes = classEmbed == null ? 0 : (int) classEmbed[0];
        TreeMap<Integer, Integer> layers = new TreeMap<>();
        for (String name : shapes.keySet()) {
            Matcher b = BLOCK.matcher(name);
            if (b.matches()) {
                layers.putIfAbsent(Integer.parseInt(b.group(1)), 0);
            }
            Matcher l = LAYER.matcher(name);
            if (l.matches()) {
                layers.merge(Integer.parseInt(l.group(1)), Integer.parseInt(l.group(2)) + 1, Math::max);
            }
        }
        List<Integer> perBlock = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Integer n = layers.get(i);
            if (n == null || n == 0) {
                throw new IllegalArgumentException("block " + i + " has no attn_blocks tensors");
            }
            perBlock.add(n);
        }
        return new TarFlowConfig(c, imageSize, patch, width, perBlock, headDim > 0 ? headDim : 64, 4, nvp, classes);
    }

    private static long[] require(Map<String, long[]> shapes, String name, int rank) {
        long[] s = shapes.get(name);
        if (s == null) {
            throw new IllegalArgumentException(
                    "cannot infer the configuration: tensor " + name + " is missing (is this a TarFlow state dict?)");
        }
        if (s.length != rank) {
            throw new IllegalArgumentException(name + " has " + s.length + " dimensions, expected " + rank);
        }
        return s;
    }

    private static boolean isSquare(long n) {
        long r = Math.round(Math.sqrt(n));
        return n > 0 && r * r == n;
    }
}
