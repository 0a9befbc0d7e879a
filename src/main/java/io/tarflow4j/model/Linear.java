package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.linear;

import io.tarflow4j.tensor.GradMode;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** A fully connected layer {@code y = x W^T + b}, initialised as {@code torch.nn.Linear}. */
final class Linear {
    /**
     * Up to this many rows, and without autograd (sampling decodes 1 token of a batch at a time),
     * {@link #apply} multiplies by W stored as a contiguous W^T: libtorch then hands OpenBLAS the
     * product in the orientation it multiplies 1.2-3x faster at 8-64 rows (docs/sampling.md).
     */
    static final long FEW_ROWS = 64;

    final Tensor weight;
    final Tensor bias;
    private final long in;
    private Tensor weightTLayout; // W's values and shape in W^T's memory order, rebuilt when W changes
    private long weightTVersion = -1;

    Linear(Init init, int in, int out) {
        double bound = 1.0 / Math.sqrt(in);
        this.weight = init.uniform(bound, out, in);
        this.bias = init.uniform(bound, out);
        this.in = in;
    }

    Tensor apply(Tensor x) {
        if (!GradMode.enabled() && x.numel() <= FEW_ROWS * in) {
            return linear(x, weightInTransposedLayout(), bias);
        }
        return linear(x, weight, bias);
    }

    private synchronized Tensor weightInTransposedLayout() {
        long version = weight.__dispatch__version();
        if (weightTLayout == null || version != weightTVersion) {
            Tensor t = weight.t().contiguous().t(); // a view; it keeps the copy's storage alive
            t.retainReference(); // lives with the layer, not with the caller's scope
            if (weightTLayout != null) {
                weightTLayout.releaseReference();
            }
            weightTLayout = t;
            weightTVersion = version;
        }
        return weightTLayout;
    }

    void collect(String prefix, Map<String, Tensor> out) {
        out.put(prefix + "weight", weight);
        out.put(prefix + "bias", bias);
    }
}
