package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.attention;
import static io.tarflow4j.tensor.Ops.causalMask;

import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Pre-norm multi-head self-attention: {@code proj(softmax(q k^T / (sqrt(d) * temp)) v)} with
 * {@code q, k, v = qkv(norm(x))}.
 *
 * <p>The attention temperature enters as a per-row factor {@code 1/temp} on the queries
 * ({@code qScale}, shape (rows, 1, 1, 1)), so that rows with different temperatures (the guided
 * and unguided branches of a sampling batch) run as one batch.
 */
final class Attention {
    final LayerNorm norm;
    final Linear qkv;
    final Linear proj;
    final int heads;
    final int headDim;

    Attention(Init init, int width, int headDim) {
        this.norm = new LayerNorm(init, width);
        this.qkv = new Linear(init, width, 3 * width);
        this.proj = new Linear(init, width, width);
        this.heads = width / headDim;
        this.headDim = headDim;
    }

    /** Causal attention over a whole sequence (B, T, C): token i sees tokens 0..i. */
    Tensor forward(Tensor x, Tensor qScale) {
        long b = x.size(0);
        long t = x.size(1);
        Tensor[] qkvHeads = splitHeads(qkv.apply(norm.apply(x)), b, t);
        Tensor q = qScale == null ? qkvHeads[0] : qkvHeads[0].mul(qScale);
        Tensor o = attention(q, qkvHeads[1], qkvHeads[2], true);
        return proj.apply(mergeHeads(o, b, t));
    }

    /**
     * Attention for the tokens {@code start .. start+n-1} of x (rows, n, C), which see every
     * earlier token through the cache and each other causally; their keys and values are added
     * to the cache.
     */
    Tensor decode(Tensor x, KvCache cache, int layer, int start, Tensor qScale) {
        long b = x.size(0);
        long n = x.size(1);
        Tensor[] qkvHeads = splitHeads(qkv.apply(norm.apply(x)), b, n);
        cache.put(layer, start, qkvHeads[1], qkvHeads[2]);
        Tensor q = qScale == null ? qkvHeads[0] : qkvHeads[0].mul(qScale);
        Tensor k = cache.keys(layer, start + n);
        Tensor v = cache.values(layer, start + n);
        Tensor o;
        if (n == 1) {
            o = attention(q, k, v, false);
        } else {
            // query j (absolute position start+j) sees keys 0 .. start+j
            o = attention(q, k, v, causalMask(n, start, x));
        }
        return proj.apply(mergeHeads(o, b, n));
    }

    /** (B, T, 3C) -> q, k, v each (B, heads, T, headDim), in the reference's channel order. */
    private Tensor[] splitHeads(Tensor qkvOut, long b, long t) {
        TensorVector parts =
                qkvOut.view(b, t, 3L * heads, headDim).transpose(1, 2).chunk(3, 1);
        return new Tensor[] {parts.get(0), parts.get(1), parts.get(2)};
    }

    private Tensor mergeHeads(Tensor o, long b, long t) {
        return o.transpose(1, 2).reshape(b, t, (long) heads * headDim);
    }

    void collect(String prefix, Map<String, Tensor> out) {
        norm.collect(prefix + "norm.", out);
        qkv.collect(prefix + "qkv.", out);
        proj.collect(prefix + "proj.", out);
    }
}
