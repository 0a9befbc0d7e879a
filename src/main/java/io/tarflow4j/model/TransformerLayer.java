package io.tarflow4j.model;

import io.tarflow4j.tensor.NativeScope;
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
            Tensor h = x.add(attention.forward(x, qScale));
            return layer.keep(h.add(mlp.apply(h)));
        }
    }

    /** The layer for tokens {@code start..} of a sequence whose earlier tokens are cached. */
    Tensor decode(Tensor x, KvCache cache, int layer, int start, Tensor qScale) {
        try (NativeScope scope = NativeScope.open()) {
            Tensor h = x.add(attention.decode(x, cache, layer, start, qScale));
            return scope.keep(h.add(mlp.apply(h)));
        }
    }

    void collect(String prefix, Map<String, Tensor> out) {
        attention.collect(prefix + "attention.", out);
        mlp.collect(prefix + "mlp.", out);
    }
}
