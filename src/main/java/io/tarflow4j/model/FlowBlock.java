package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.cat;
import static io.tarflow4j.tensor.Ops.mean;

import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.NativeScope;
import java.util.Map;
import java.util.function.IntConsumer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One flow block (the reference's MetaBlock): a causal Transformer over the permuted token
 * sequence that predicts, for each token, an affine map from the tokens before it.
 *
 * <p>Block i reads the sequence in order when i is even and reversed when i is odd.
 */
public final class FlowBlock {
    private final boolean flip;
    private final boolean nvp;
    final Linear projIn;
    final Tensor posEmbed;
    final Tensor classEmbed;
    final TransformerLayer[] layers;
    final Linear projOut;
    final Tensor attnMask;
    private ArrayDecoder arrayDecoder; // the weights in arrays, made on first use

    FlowBlock(Init init, TarFlowConfig c, int index) {
        int width = c.width();
        int tokens = c.numTokens();
        this.flip = index % 2 == 1;
        this.nvp = c.nvp();
        this.projIn = new Linear(init, c.tokenDim(), width);
        this.posEmbed = init.normal(1e-2, tokens, width);
        this.classEmbed = c.conditional() ? init.normal(1e-2, c.numClasses(), 1, width) : null;
        this.layers = new TransformerLayer[c.layersPerBlock().get(index)];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new TransformerLayer(init, width, c.headDim(), c.mlpExpansion());
        }
        this.projOut = new Linear(init, width, nvp ? 2 * c.tokenDim() : c.tokenDim());
        projOut.weight.zero_(); // the flow starts as the identity
        this.attnMask = init.ones(tokens, tokens).tril();
    }

    /**
     * The block's token order: identity or flip along {@code dim} (its own inverse). Samplers
     * that invert a block outside {@link #reverse} use it to move between model order and the
     * block's order.
     */
    public Tensor permute(Tensor x, long dim) {
        return flip ? x.flip(dim) : x;
    }

    /**
     * Forward: x (B, T, D) to z of the same shape, and the per-image log-determinant (B) as the
     * mean of {@code -logScale} over tokens and dimensions (the reference's convention).
     */
    public BlockOutput forward(Tensor x, Tensor y) {
        try (NativeScope block = NativeScope.open()) {
            Tensor xp = permute(x, 1);
            BlockOutput out = output(xp, affine(xp, classRows(y), null));
            return new BlockOutput(block.keep(out.z()), block.keep(out.logdet()));
        }
    }

    /** The latent in model order and the log-determinant, from the permuted input and its affine parameters. */
    BlockOutput output(Tensor xp, Affine a) {
        return new BlockOutput(
                permute(a.forward(xp), 1), mean(a.logScale(), 1, 2).neg());
    }

    /**
     * The affine parameters of every token of a permuted sequence, computed in one causal pass:
     * token i's map comes from tokens 0..i-1 (token 0 gets the identity).
     *
     * @param xp the sequence in this block's order (rows, T, D)
     * @param classRows per-row class embedding (rows, 1, width), or null for none
     * @param qScale per-row inverse attention temperature (rows, 1, 1, 1), or null for 1
     */
    public Affine affine(Tensor xp, Tensor classRows, Tensor qScale) {
        Tensor h = stem(xp, classRows);
        for (TransformerLayer layer : layers) {
            h = layer.forward(h, qScale);
        }
        return head(h);
    }

    /** The Transformer's input: projected tokens plus position and class embeddings (rows, T, width). */
    Tensor stem(Tensor xp, Tensor classRows) {
        Tensor h = projIn.apply(xp).add(permute(posEmbed, 0));
        return classRows == null ? h : h.add(classRows);
    }

    /** The affine parameters from the last layer's output, shifted by one token. */
    Affine head(Tensor h) {
        Tensor p = projectOut(h);
        // shift by one token: the parameters predicted at token i act on token i+1
        Tensor first = torch.zeros_like(p.narrow(1, 0, 1));
        p = cat(1, first, p.narrow(1, 0, p.size(1) - 1));
        return split(p);
    }

    /**
     * The affine parameters for tokens {@code start+1 .. start+n} from the permuted tokens
     * {@code start .. start+n-1} (rows, n, D), whose predecessors are in {@code cache}; adds their
     * keys and values to the cache. With n = 1 this is one step of sequential decoding.
     */
    public Affine decode(Tensor tokens, int start, Tensor classRows, Tensor qScale, KvCache cache) {
        return decode(tokens, start, classRows, qScale, cache, permute(posEmbed, 0));
    }

    /** {@link #decode} with the position embedding already in this block's order. */
    private Affine decode(Tensor tokens, int start, Tensor classRows, Tensor qScale, KvCache cache, Tensor pos) {
        Tensor h = projIn.apply(tokens).add(pos.narrow(0, start, tokens.size(1)));
        if (classRows != null) {
            h = h.add(classRows);
        }
        for (int l = 0; l < layers.length; l++) {
            h = layers[l].decode(h, cache, l, start, qScale);
        }
        return split(projectOut(h));
    }

    /**
     * The output projection to affine parameters, always in the model's precision: under bf16
     * autocast the Transformer runs in bf16 but exp(logScale) and the log-determinant do not.
     */
    private Tensor projectOut(Tensor h) {
        if (!Autocast.enabled()) {
            return projOut.apply(h);
        }
        try (Autocast full = Autocast.float32()) {
            return projOut.apply(h.to(posEmbed.scalar_type()));
        }
    }

    private Affine split(Tensor p) {
        if (nvp) {
            TensorVector ab = p.chunk(2, -1);
            return new Affine(ab.get(0), ab.get(1));
        }
        return new Affine(torch.zeros_like(p), p);
    }

    /**
     * The class embedding for labels y (B): row {@code class_embed[y]}, or the mean embedding
     * where y &lt; 0 (a dropped label) or when y is null. Null for an unconditional model.
     */
    public Tensor classRows(Tensor y) {
        if (classEmbed == null) {
            return null;
        }
        Tensor mean = classEmbed.mean(new long[] {0}, true, new ScalarTypeOptional()); // (1, 1, width)
        if (y == null) {
            return mean;
        }
        Tensor rows = classEmbed.index_select(0, y.clamp_min(new Scalar(0L)));
        Tensor dropped = y.lt(new Scalar(0L)).view(-1, 1, 1);
        return torch.where(dropped, mean, rows);
    }

    /**
     * Inverts the block token by token: x (B, T, D) latent in model order to the block's input.
     * With active guidance the guided and unguided branches run as one batch of 2B rows.
     */
    public Tensor reverse(Tensor x, Tensor y, Guidance guidance, KvCache cache) {
        return reverse(x, y, guidance, cache, null);
    }

    /**
     * {@link #reverse(Tensor, Tensor, Guidance, KvCache)}, telling {@code tokensDone} (when not
     * null) the number of tokens inverted after each step (1 .. T-1).
     */
    public Tensor reverse(Tensor x, Tensor y, Guidance guidance, KvCache cache, IntConsumer tokensDone) {
        long rows = guidance.active() ? 2 * x.size(0) : x.size(0);
        if (ArrayDecoder.suits(x, rows, (int) posEmbed.size(1))) {
            return arrayDecoder().reverse(x, y, guidance, tokensDone);
        }
        return reverseWithTensors(x, y, guidance, cache, tokensDone);
    }

    /** {@link #reverse} step by step with libtorch operations, for any rows and device. */
    Tensor reverseWithTensors(Tensor x, Tensor y, Guidance guidance, KvCache cache, IntConsumer tokensDone) {
        int tokens = (int) x.size(1);
        Branches branches = branches(y, x.size(0), guidance, x);
        Tensor weights = branches.guided() ? guidance.tokenWeights(tokens, x) : null;
        Tensor xp = permute(x, 1).clone();
        Tensor pos = permute(posEmbed, 0); // once, not at every step
        for (int i = 0; i < tokens - 1; i++) {
            try (NativeScope step = NativeScope.open()) {
                Tensor token = branches.rows(xp.narrow(1, i, 1));
                Affine a = decode(token, i, branches.classRows(), branches.qScale(), cache, pos);
                if (branches.guided()) {
                    a = guidance.mix(a, weights.narrow(1, i + 1, 1));
                }
                Tensor next = xp.narrow(1, i + 1, 1);
                next.copy_(a.reverse(next));
            }
            if (tokensDone != null) {
                tokensDone.accept(i + 1);
            }
        }
        return permute(xp, 1);
    }

    /** The block's weights in arrays for {@link ArrayDecoder}, copied again when they change. */
    private synchronized ArrayDecoder arrayDecoder() {
        Map<String, Tensor> params = new java.util.LinkedHashMap<>();
        collect("", params);
        long version = 0;
        for (Tensor t : params.values()) {
            version += t.__dispatch__version();
        }
        if (arrayDecoder == null || arrayDecoder.version() != version) {
            arrayDecoder = new ArrayDecoder(this, flip, nvp, version);
        }
        return arrayDecoder;
    }

    /**
     * The conditioning of {@code b} sequences with labels y (null: the mean class embedding)
     * under {@code guidance}: one branch, or a guided and an unguided one (see {@link Branches}).
     */
    public Branches branches(Tensor y, long b, Guidance guidance, Tensor like) {
        return Branches.of(this, y, b, guidance, like);
    }

    /** Number of Transformer layers. */
    public int numLayers() {
        return layers.length;
    }

    void collect(String prefix, Map<String, Tensor> params) {
        params.put(prefix + "pos_embed", posEmbed);
        if (classEmbed != null) {
            params.put(prefix + "class_embed", classEmbed);
        }
        projIn.collect(prefix + "proj_in.", params);
        for (int l = 0; l < layers.length; l++) {
            layers[l].collect(prefix + "attn_blocks." + l + ".", params);
        }
        projOut.collect(prefix + "proj_out.", params);
    }

    /** Output of {@link #forward}: the latent and the per-image log-determinant. */
    public record BlockOutput(Tensor z, Tensor logdet) {}
}
