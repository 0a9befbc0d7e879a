package io.tarflow4j.sampling;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Random-weight models for speed runs and tests. A freshly initialised TarFlow has
 * {@code proj_out} zero, so every block is the identity and a Jacobi sampler would converge in
 * one pass; these models add Gaussian noise to every parameter so that each block is a real,
 * data-dependent affine map.
 */
public final class RandomWeights {
    private RandomWeights() {}

    /**
     * A model initialised from {@code seed} with N(0, std^2) added to every parameter
     * ({@code proj_out} included).
     */
    public static TarFlow perturbed(TarFlowConfig config, long seed, double std) {
        Runtime.seed(seed);
        TarFlow model = new TarFlow(config);
        try (GradMode g = GradMode.off();
                NativeScope scope = NativeScope.open()) {
            for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
                Tensor p = e.getValue();
                p.add_(torch.randn_like(p).mul(io.tarflow4j.tensor.Ops.s(std)));
            }
        }
        return model;
    }
}
