package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.layerNorm;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** Layer normalisation over the last dimension with a learned gain and bias. */
final class LayerNorm {
    final Tensor weight;
    final Tensor bias;

    LayerNorm(Init init, int width) {
        this.weight = init.ones(width);
        this.bias = init.zeros(width);
    }

    Tensor apply(Tensor x) {
        return layerNorm(x, weight, bias, TarFlowConfig.LAYER_NORM_EPS);
    }

    void collect(String prefix, Map<String, Tensor> out) {
        out.put(prefix + "weight", weight);
        out.put(prefix + "bias", bias);
    }
}
