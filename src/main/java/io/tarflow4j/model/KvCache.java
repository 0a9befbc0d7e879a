package io.tarflow4j.model;

import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Keys and values of the tokens already decoded, for every Transformer layer of a flow block.
 *
 * <p>Allocated once for the whole sequence, (rows, heads, T, headDim) per layer, and written in
 * place as decoding advances, so that a sampling step never concatenates or reallocates. One
 * cache serves every block of a model in turn (a block overwrites what the previous one left).
 */
public final class KvCache {
    private final Tensor[] keys;
    private final Tensor[] values;

    /** A cache for {@code layers} layers, {@code rows} sequences of {@code tokens} tokens. */
    public KvCache(int layers, long rows, int heads, int tokens, int headDim, TensorOptions options) {
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = torch.empty(new long[] {rows, heads, tokens, headDim}, options, new MemoryFormatOptional());
            values[l] = torch.empty(new long[] {rows, heads, tokens, headDim}, options, new MemoryFormatOptional());
        }
    }

    /** A cache sized for every block of {@code model} and {@code rows} sequences. */
    public static KvCache forModel(TarFlow model, long rows) {
        TarFlowConfig c = model.config();
        int layers =
                c.layersPerBlock().stream().mapToInt(Integer::intValue).max().orElseThrow();
        return new KvCache(layers, rows, c.numHeads(), c.numTokens(), c.headDim(), model.options());
    }

    private KvCache(Tensor[] keys, Tensor[] values) {
        this.keys = keys;
        this.values = values;
    }

    /**
     * The cache of rows {@code from .. from+n-1} only: a view that shares this cache's memory, for
     * a group of rows decoded on its own (rows never interact while decoding).
     */
    public KvCache rowSlice(long from, long n) {
        Tensor[] k = new Tensor[keys.length];
        Tensor[] v = new Tensor[values.length];
        for (int l = 0; l < keys.length; l++) {
            k[l] = keys[l].narrow(0, from, n);
            v[l] = values[l].narrow(0, from, n);
        }
        return new KvCache(k, v);
    }

    /** Number of sequences the cache holds. */
    public long rows() {
        return keys[0].size(0);
    }

    /** Stores keys and values (rows, heads, n, d) of tokens {@code start .. start+n-1}. */
    void put(int layer, int start, Tensor k, Tensor v) {
        long n = k.size(2);
        keys[layer].narrow(2, start, n).copy_(k);
        values[layer].narrow(2, start, n).copy_(v);
    }

    /** Keys of tokens {@code 0 .. count-1}. */
    Tensor keys(int layer, long count) {
        return keys[layer].narrow(2, 0, count);
    }

    /** Values of tokens {@code 0 .. count-1}. */
    Tensor values(int layer, long count) {
        return values[layer].narrow(2, 0, count);
    }
}
