package io.tarflow4j.bench;

import io.tarflow4j.model.TarFlowConfig;

/**
 * Floating-point work of TarFlow, counted from the matrix products (2 FLOPs per multiply-add;
 * element-wise work is left out, it is a few percent). Attention is counted as the full T x T
 * products, which is what the CPU kernels compute under a causal mask.
 */
public final class FlopCount {
    private FlopCount() {}

    /** FLOPs of one image's forward pass. */
    public static double forwardPerImage(TarFlowConfig c) {
        double t = c.numTokens();
        double w = c.width();
        double d = c.tokenDim();
        double e = c.mlpExpansion();
        double layer = 2 * t * w * 3 * w // qkv
                + 2 * 2 * t * t * w // q k^T and attention x v
                + 2 * t * w * w // output projection
                + 2 * 2 * t * w * e * w; // MLP
        double total = 0;
        for (int layers : c.layersPerBlock()) {
            total += 2 * t * d * w + layers * layer + 2 * t * w * (c.nvp() ? 2 * d : d);
        }
        return total;
    }

    /** FLOPs of one image in a training step: forward plus backward (twice the forward). */
    public static double trainingPerImage(TarFlowConfig c) {
        return 3 * forwardPerImage(c);
    }
}
