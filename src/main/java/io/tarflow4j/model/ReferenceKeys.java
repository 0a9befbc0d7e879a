package io.tarflow4j.model;

import io.tarflow4j.io.Excerpt;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The configuration as the reference names it ({@code in_channels}, {@code img_size},
 * {@code patch_size}, {@code channels}, {@code num_blocks}, {@code layers_per_block}, {@code nvp},
 * {@code num_classes}), the form used in safetensors {@code __metadata__} and fixture JSON.
 */
public final class ReferenceKeys {
    private ReferenceKeys() {}

    /** Whether {@code m} holds the keys {@link #toConfig} needs. */
    public static boolean present(Map<String, String> m) {
        return m.containsKey("in_channels")
                && m.containsKey("img_size")
                && m.containsKey("patch_size")
                && m.containsKey("channels")
                && m.containsKey("layers_per_block");
    }

    /**
     * The configuration described by reference keys. {@code layers_per_block} may be one number or
     * a comma-separated list (one per block); {@code head_dim} and {@code mlp_expansion} default to
     * 64 and 4; {@code nvp} to true and {@code num_classes} to 0.
     *
     * @throws IllegalArgumentException naming a missing or malformed key
     */
    public static TarFlowConfig toConfig(Map<String, String> m) {
        int blocks = m.containsKey("num_blocks") ? integer(m, "num_blocks") : -1;
        if (blocks > TarFlowConfig.MAX_BLOCKS) {
            throw new IllegalArgumentException(
                    "configuration key 'num_blocks' must be at most " + TarFlowConfig.MAX_BLOCKS + ", got " + blocks);
        }
        String layers = required(m, "layers_per_block").replaceAll("[\\[\\]\\s]", "");
        java.util.List<Integer> perBlock = new java.util.ArrayList<>();
        for (String part : layers.split(",", TarFlowConfig.MAX_BLOCKS + 2)) {
            if (perBlock.size() == TarFlowConfig.MAX_BLOCKS) {
                throw new IllegalArgumentException(
                        "configuration key 'layers_per_block' lists more than " + TarFlowConfig.MAX_BLOCKS + " blocks");
            }
            perBlock.add(parse("layers_per_block", part));
        }
        if (perBlock.size() == 1 && blocks > 1) {
            while (perBlock.size() < blocks) {
                perBlock.add(perBlock.get(0));
            }
        }
        if (blocks >= 0 && perBlock.size() != blocks) {
            throw new IllegalArgumentException(
                    "layers_per_block lists " + perBlock.size() + " blocks but num_blocks is " + blocks);
        }
        return new TarFlowConfig(
                integer(m, "in_channels"),
                integer(m, "img_size"),
                integer(m, "patch_size"),
                integer(m, "channels"),
                perBlock,
                m.containsKey("head_dim") ? integer(m, "head_dim") : 64,
                m.containsKey("mlp_expansion") ? integer(m, "mlp_expansion") : 4,
                !m.containsKey("nvp") || bool(m, "nvp"),
                m.containsKey("num_classes") ? integer(m, "num_classes") : 0);
    }

    /** The reference keys of a configuration (per-block layers as a list when they differ). */
    public static Map<String, String> fromConfig(TarFlowConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("in_channels", Integer.toString(c.inChannels()));
        m.put("img_size", Integer.toString(c.imageSize()));
        m.put("patch_size", Integer.toString(c.patchSize()));
        m.put("channels", Integer.toString(c.width()));
        m.put("num_blocks", Integer.toString(c.numBlocks()));
        boolean uniform = c.layersPerBlock().stream().distinct().count() == 1;
        m.put(
                "layers_per_block",
                uniform
                        ? c.layersPerBlock().get(0).toString()
                        : String.join(
                                ",",
                                c.layersPerBlock().stream().map(String::valueOf).toList()));
        m.put("head_dim", Integer.toString(c.headDim()));
        m.put("mlp_expansion", Integer.toString(c.mlpExpansion()));
        m.put("nvp", c.nvp() ? "True" : "False");
        m.put("num_classes", Integer.toString(c.numClasses()));
        return m;
    }

    private static String required(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("configuration key '" + key + "' is missing");
        }
        return v.strip();
    }

    private static int integer(Map<String, String> m, String key) {
        return parse(key, required(m, key));
    }

    private static int parse(String key, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "configuration key '" + key + "' must be an integer, got '" + Excerpt.of(v) + "'");
        }
    }

    private static boolean bool(Map<String, String> m, String key) {
        String v = required(m, key).toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default ->
                throw new IllegalArgumentException(
                        "configuration key '" + key + "' must be true or false, got '" + Excerpt.of(v) + "'");
        };
    }
}
