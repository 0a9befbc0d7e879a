package io.tarflow4j.model;

import io.tarflow4j.tensor.InferenceLinear;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** A fully connected layer {@code y = x W^T + b}, initialised as {@code torch.nn.Linear}. */
final class Linear {
    final Tensor weight;
    final Tensor bias;
    private final InferenceLinear product;

    Linear(Init init, int in, int out) {
        double bound = 1.0 / Math.sqrt(in);
        this.weight = init.uniform(bound, out, in);
        this.bias = init.uniform(bound, out);
        this.product = new InferenceLinear(weight, bias);
    }

    Tensor apply(Tensor x) {
        return product.apply(x);
    }

    void collect(String prefix, Map<String, Tensor> out) {
        out.put(prefix + "weight", weight);
        out.put(prefix + "bias", bias);
    }
}
