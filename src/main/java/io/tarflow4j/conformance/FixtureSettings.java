package io.tarflow4j.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.ReferenceKeys;
import io.tarflow4j.model.TarFlowConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fixture's configuration and sampling settings, from the safetensors {@code __metadata__} or,
 * when that lacks them, from the JSON file of the same name beside it.
 *
 * @param config the model architecture
 * @param guidance guidance weight of the guided reverse runs
 * @param attnTemp attention temperature of the unguided branch
 * @param sigma training-noise std used by denoising
 * @param denoiseStep the denoising step size
 * @param adamwLr AdamW learning rate (0: no AdamW check)
 * @param adamwBeta1 AdamW beta1
 * @param adamwBeta2 AdamW beta2
 * @param adamwEps AdamW epsilon
 * @param adamwWeightDecay AdamW weight decay
 */
public record FixtureSettings(
        TarFlowConfig config,
        double guidance,
        double attnTemp,
        double sigma,
        double denoiseStep,
        double adamwLr,
        double adamwBeta1,
        double adamwBeta2,
        double adamwEps,
        double adamwWeightDecay) {

    /** Reads the settings of the fixture at {@code fixture}. */
    public static FixtureSettings load(Path fixture, Map<String, String> metadata) throws IOException {
        Map<String, String> m = new HashMap<>();
        String file = fixture.getFileName().toString();
        Path json = fixture.resolveSibling(file.replaceFirst("\\.safetensors$", "") + ".json");
        if (Files.isRegularFile(json)) {
            flattenJson(json, m);
        }
        m.putAll(metadata);
        if (!ReferenceKeys.present(m)) {
            throw new IOException(fixture + ": no model configuration: expected reference keys"
                    + " (in_channels, img_size, patch_size, channels, num_blocks, layers_per_block, nvp,"
                    + " num_classes) in __metadata__ or in " + json);
        }
        String[] betas = m.getOrDefault("adamw_betas", "0.9,0.95").split(",");
        try {
            return new FixtureSettings(
                    ReferenceKeys.toConfig(m),
                    num(m, "guidance", 0),
                    num(m, "attn_temp", 1),
                    num(m, "sigma", 0),
                    num(m, "denoise_step", 0),
                    num(m, "adamw_lr", 0),
                    Double.parseDouble(betas[0].strip()),
                    Double.parseDouble(betas[1].strip()),
                    num(m, "adamw_eps", 1e-8),
                    num(m, "adamw_weight_decay", 0));
        } catch (RuntimeException e) {
            throw new IOException(fixture + ": bad settings: " + e.getMessage(), e);
        }
    }

    /**
     * The guidance variants a fixture's reverse pass was recorded with, by tensor name: plain,
     * guided, annealed, and guiding only the scale or only the shift, at the fixture's weight and
     * attention temperature.
     */
    public Map<String, Guidance> reverseVariants() {
        Map<String, Guidance> variants = new LinkedHashMap<>();
        variants.put("reverse.plain", Guidance.NONE);
        variants.put("reverse.guided", new Guidance(guidance, Guidance.Target.BOTH, attnTemp, false));
        variants.put("reverse.guided_annealed", new Guidance(guidance, Guidance.Target.BOTH, attnTemp, true));
        variants.put("reverse.guided_a", new Guidance(guidance, Guidance.Target.SCALE, attnTemp, false));
        variants.put("reverse.guided_b", new Guidance(guidance, Guidance.Target.SHIFT, attnTemp, false));
        return variants;
    }

    private static double num(Map<String, String> m, String key, double fallback) {
        String v = m.get(key);
        return v == null ? fallback : Double.parseDouble(v.strip());
    }

    private static void flattenJson(Path json, Map<String, String> out) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new IOException(json + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode config = root.path("config");
        config.properties().forEach(e -> out.put(e.getKey(), text(e.getValue())));
        for (String key :
                new String[] {"guidance", "attn_temp", "sigma", "denoise_step", "head_dim", "mlp_expansion"}) {
            if (root.has(key)) {
                out.put(key, text(root.get(key)));
            }
        }
        JsonNode adamw = root.path("adamw");
        if (adamw.isObject()) {
            if (adamw.has("lr")) {
                out.put("adamw_lr", text(adamw.get("lr")));
            }
            if (adamw.has("eps")) {
                out.put("adamw_eps", text(adamw.get("eps")));
            }
            if (adamw.has("weight_decay")) {
                out.put("adamw_weight_decay", text(adamw.get("weight_decay")));
            }
            if (adamw.has("betas")) {
                out.put(
                        "adamw_betas",
                        text(adamw.get("betas").get(0)) + ","
                                + text(adamw.get("betas").get(1)));
            }
        }
    }

    private static String text(JsonNode n) {
        return n.isTextual() ? n.asText() : n.toString();
    }
}
