package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.linear;
import static io.tarflow4j.tensor.Ops.linearTransposed;

import io.tarflow4j.tensor.GradMode;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** A fully connected layer {@code y = x W^T + b}, initialised as {@code torch.nn.Linear}. */
final class Linear {
    /**
     * Up to this many rows, and without autograd (sampling decodes 1 token of a batch at a time),
     * {@link #apply} multiplies by a contiguous copy of W^T: OpenBLAS then skips repacking the
     * weight at every call, 1.2-3x faster at 8-64 rows (bench notes in docs/sampling.md).
     */
    static final long FEW_ROWS = 64;

    final Tensor weight;
    final Tensor bias;
    private Tensor weightT; // W^T for few rows, rebuilt when W changes (its version counter moves)
    private long weightTVersion = -1;

    Linear(Init init, int in, int out) {
        double bound = 1.0 / Math.sqrt(in);
        this.weight = init.uniform(bound, out, in);
        this.bias = init.uniform(bound, out);
    }

    Tensor apply(Tensor x) {
        if (x.numel() <= FEW_ROWS * weight.size(1) && !GradMode.enabled()) {
            return linearTransposed(x, transposedWeight(), bias);
        }
        return linear(x, weight, bias);
    }

    private synchronized Tensor transposedWeight() {
        long version = weight.__dispatch__version();
        if (weightT == null || version != weightTVersion) {
            Tensor t = weight.t().contiguous();
            t.retainReference(); // lives with the layer, not with the caller's scope
            if (weightT != null) {
                weightT.releaseReference();
            }
            weightT = t;
            weightTVersion = version;
        }
        return weightT;
    }

    void collect(String prefix, Map<String, Tensor> out) {
        out.put(prefix + "weight", weight);
        out.put(prefix + "bias", bias);
    }
}
