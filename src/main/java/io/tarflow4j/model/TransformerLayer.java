package io.tarflow4j.model;

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

    /** Causal layer over a whole sequence. */
    Tensor forward(Tensor x, Tensor qScale) {
        x = x.add(attention.forward(x, qScale));
        return x.add(mlp.apply(x));
    }

    /** The layer for tokens {@code start..} of a sequence whose earlier tokens are cached. */
    Tensor decode(Tensor x, KvCache cache, int layer, int start, Tensor qScale) {
        x = x.add(attention.decode(x, cache, layer, start, qScale));
        return x.add(mlp.apply(x));
    }

    void collect(String prefix, Map<String, Tensor> out) {
        attention.collect(prefix + "attention.", out);
        mlp.collect(prefix + "mlp.", out);
    }
}
