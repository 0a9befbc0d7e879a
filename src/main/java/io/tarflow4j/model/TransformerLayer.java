package io.tarflow4j.model;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/** One Transformer layer: {@code x += attention(x); x += mlp(x)} (the reference's AttentionBlock). */
final class TransformerLayer {
    final Attention attention;
    final Mlp mlp;

    TransformerLayer(Init init, int width, int headDim, int expansion) {
        this.attention = new Attention(init, width, headDim);
        this.mlp = new Mlp(init, width, expansion);
    }

    /**
     * Causal layer over a whole sequence. Intermediates are freed when the layer is done (autograd
     * keeps what backward needs), so a no-grad pass holds one layer's temporaries at a time.
     */
    Tensor forward(Tensor x, Tensor qScale) {
        try (NativeScope layer = NativeScope.open()) {
            Tensor h = residual(x, attention.forward(x, qScale));
            return layer.keep(residual(h, mlp.apply(h)));
        }
    }

    /** The layer for tokens {@code start..} of a sequence whose earlier tokens are cached. */
    Tensor decode(Tensor x, KvCache cache, int layer, int start, Tensor qScale) {
        try (NativeScope scope = NativeScope.open()) {
            Tensor h = residual(x, attention.decode(x, cache, layer, start, qScale));
            return scope.keep(residual(h, mlp.apply(h)));
        }
    }

    /**
     * {@code x + delta}. Without autograd, and when both have one dtype (not so under bf16
     * autocast, where the sum must stay float32), it is written over delta, a temporary of this
     * layer: a decode step then allocates two buffers fewer.
     */
    private static Tensor residual(Tensor x, Tensor delta) {
        if (!GradMode.enabled() && Tensors.dtype(delta) == Tensors.dtype(x)) {
            return delta.add_(x);
        }
        return x.add(delta);
    }

    void collect(String prefix, Map<String, Tensor> out) {
        attention.collect(prefix + "attention.", out);
        mlp.collect(prefix + "mlp.", out);
    }
}
