package io.tarflow4j.model;

import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.Tensors;
import io.tarflow4j.tensor.VectorMath;
import io.tarflow4j.tensor.VectorSupport;
import java.util.function.IntConsumer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * {@link FlowBlock#reverse} for a few rows, in Java arrays: the same steps (the layer, attention
 * over the KV cache, the guidance mix, the affine step) with SIMD kernels ({@link VectorMath})
 * instead of a libtorch call per operation. At batch 1 a decode step of a small model is dozens
 * of operations of a few microseconds of arithmetic each, and each libtorch call costs more than
 * that; here a step is plain loops over the block's weights, copied once into arrays.
 *
 * <p>Used for at most {@link #MAX_ROWS} rows (both guidance branches counted) of float32 CPU
 * models up to {@link #MAX_WIDTH} wide, without autograd or autocast; wider models are limited
 * by reading their weights, which libtorch's matrix-vector product does as well.
 */
final class ArrayDecoder {
    /** The most rows decoded in arrays; more rows share each weight read better as a product. */
    static final long MAX_ROWS = 4;

    /** The widest model decoded in arrays (chosen by measurement, BENCHMARKS.md, batch 1). */
    static final int MAX_WIDTH = 256;

    private final long version;
    private final boolean flip;
    private final boolean nvp;
    private final int tokens;
    private final int dim;
    private final int width;
    private final int heads;
    private final int headDim;
    private final Weights projIn;
    private final Weights projOut;
    private final float[] pos; // (T, width) in the block's order
    private final float[] classEmbed; // (classes, width), or null
    private final float[] classMean; // (width), or null
    private final Layer[] layers;

    /** Whether {@code rows} rows of x go through arrays rather than libtorch. */
    static boolean suits(Tensor x, long rows, int width) {
        return VectorSupport.AVAILABLE
                && rows <= MAX_ROWS
                && width <= MAX_WIDTH
                && !GradMode.enabled()
                && !Autocast.enabled()
                && x.device().is_cpu()
                && Tensors.dtype(x) == ScalarType.Float;
    }

    ArrayDecoder(FlowBlock block, boolean flip, boolean nvp, long version) {
        this.version = version;
        this.flip = flip;
        this.nvp = nvp;
        this.tokens = (int) block.posEmbed.size(0);
        this.width = (int) block.posEmbed.size(1);
        this.dim = (int) block.projIn.weight.size(1);
        this.heads = block.layers.length == 0 ? 1 : block.layers[0].attention.heads;
        this.headDim = block.layers.length == 0 ? width : block.layers[0].attention.headDim;
        this.projIn = Weights.of(block.projIn);
        this.projOut = Weights.of(block.projOut);
        this.pos = Tensors.toFloats(block.permute(block.posEmbed, 0));
        this.classEmbed = block.classEmbed == null ? null : Tensors.toFloats(block.classEmbed);
        this.classMean = block.classEmbed == null ? null : Tensors.toFloats(block.classRows(null));
        this.layers = new Layer[block.layers.length];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = Layer.of(block.layers[l]);
        }
    }

    /** The block parameters' version this copy was made at. */
    long version() {
        return version;
    }

    /**
     * Inverts the block for x (B, T, D) in model order, labels y (B) or null, as
     * {@link FlowBlock#reverse}: token i+1 from tokens 0..i, one step at a time.
     */
    Tensor reverse(Tensor x, Tensor y, Guidance guidance, IntConsumer tokensDone) {
        int b = (int) x.size(0);
        boolean guided = guidance.active();
        int rows = guided ? 2 * b : b;
        float[] xp = Tensors.toFloats(flip ? x.flip(1) : x); // (B, T, D) in the block's order
        float[][] classRows = classRows(y, b, rows);
        float[] qScale = new float[rows];
        for (int r = 0; r < rows; r++) {
            qScale[r] = (float) ((r < b ? 1.0 : 1.0 / guidance.attnTemp()) / Math.sqrt(headDim));
        }
        Step step = new Step(rows);
        int outDim = projOut.out();
        float[] params = new float[rows * outDim];
        for (int i = 0; i < tokens - 1; i++) {
            for (int r = 0; r < rows; r++) {
                int source = r % b; // both branches read the same tokens
                step.decode(xp, (source * tokens + i) * dim, i, r, classRows[r], qScale[r]);
                projOut.apply(step.h, r * width, params, r * outDim);
            }
            float w = (float) guidance.weightAt(i, tokens);
            for (int r = 0; r < b; r++) {
                int next = (r * tokens + i + 1) * dim;
                for (int d = 0; d < dim; d++) {
                    float logScale = nvp ? params[r * outDim + d] : 0f;
                    float shift = params[r * outDim + (nvp ? dim : 0) + d];
                    if (guided) {
                        int u = (r + b) * outDim; // the unguided branch's row
                        if (nvp && guidance.target().scale()) {
                            logScale = Guidance.mix(logScale, params[u + d], w);
                        }
                        if (guidance.target().shift()) {
                            shift = Guidance.mix(shift, params[u + (nvp ? dim : 0) + d], w);
                        }
                    }
                    // Affine.reverse: z * exp(logScale) + shift
                    xp[next + d] = xp[next + d] * (float) Math.exp(logScale) + shift;
                }
            }
            if (tokensDone != null) {
                tokensDone.accept(i + 1);
            }
        }
        Tensor out = Tensors.fromFloats(xp, b, tokens, dim);
        return flip ? out.flip(1) : out;
    }

    /** The class embedding of each row: its label's, or the mean for none, a dropped label and the unguided branch. */
    private float[][] classRows(Tensor y, int b, int rows) {
        float[][] out = new float[rows][];
        if (classEmbed == null) {
            return out;
        }
        long[] labels = y == null ? null : Tensors.toLongs(y);
        for (int r = 0; r < rows; r++) {
            if (r < b && labels != null && labels[r] >= 0) {
                out[r] = new float[width];
                System.arraycopy(classEmbed, (int) labels[r] * width, out[r], 0, width);
            } else {
                out[r] = classMean;
            }
        }
        return out;
    }

    /** The scratch of one decoding call: the KV cache and every layer's intermediates, per row. */
    private final class Step {
        final float[] h; // (rows, width): the residual stream
        final float[][][] keys; // [layer][row] (T, width)
        final float[][][] values;
        final float[] normed = new float[width];
        final float[] qkv = new float[3 * width];
        final float[] attended = new float[width];
        final float[] delta = new float[width];
        final float[] hidden;
        final float[] scores = new float[tokens];

        Step(int rows) {
            h = new float[rows * width];
            keys = new float[layers.length][rows][tokens * width];
            values = new float[layers.length][rows][tokens * width];
            hidden = new float[layers.length == 0 ? 0 : layers[0].fc1().out()];
        }

        /** Row r's Transformer output for its token at position i (in the block's order). */
        void decode(float[] xp, int tokenOff, int i, int r, float[] classRow, float qScale) {
            int hOff = r * width;
            projIn.apply(xp, tokenOff, h, hOff);
            VectorMath.add(h, hOff, pos, i * width, width);
            if (classRow != null) {
                VectorMath.add(h, hOff, classRow, 0, width);
            }
            for (int l = 0; l < layers.length; l++) {
                Layer layer = layers[l];
                // h += proj(attention(qkv(norm(h))))
                VectorMath.layerNorm(
                        h, hOff, layer.norm1Gain(), layer.norm1Bias(), TarFlowConfig.LAYER_NORM_EPS, normed, width);
                layer.qkv().apply(normed, 0, qkv, 0);
                System.arraycopy(qkv, width, keys[l][r], i * width, width);
                System.arraycopy(qkv, 2 * width, values[l][r], i * width, width);
                attend(keys[l][r], values[l][r], i, qScale);
                layer.proj().apply(attended, 0, delta, 0);
                VectorMath.add(h, hOff, delta, 0, width);
                // h += fc2(gelu(fc1(norm(h))))
                VectorMath.layerNorm(
                        h, hOff, layer.norm2Gain(), layer.norm2Bias(), TarFlowConfig.LAYER_NORM_EPS, normed, width);
                layer.fc1().apply(normed, 0, hidden, 0);
                VectorMath.gelu(hidden, hidden.length);
                layer.fc2().apply(hidden, 0, delta, 0);
                VectorMath.add(h, hOff, delta, 0, width);
            }
        }

        /** Each head's softmax(q k^T * scale) v over the cached tokens 0..i, into {@code attended}. */
        private void attend(float[] k, float[] v, int i, float scale) {
            java.util.Arrays.fill(attended, 0f);
            for (int head = 0; head < heads; head++) {
                int off = head * headDim;
                for (int j = 0; j <= i; j++) {
                    scores[j] = VectorMath.dot(qkv, off, k, j * width + off, headDim) * scale;
                }
                VectorMath.softmax(scores, i + 1);
                for (int j = 0; j <= i; j++) {
                    VectorMath.addScaled(attended, off, scores[j], v, j * width + off, headDim);
                }
            }
        }
    }

    /** A linear layer's weight transposed (in x out) and bias, in arrays. */
    private record Weights(float[] wt, float[] b, int in, int out) {
        static Weights of(Linear linear) {
            int out = (int) linear.weight.size(0);
            int in = (int) linear.weight.size(1);
            return new Weights(Tensors.toFloats(linear.weight.t()), Tensors.toFloats(linear.bias), in, out);
        }

        void apply(float[] x, int xOff, float[] y, int yOff) {
            VectorMath.linear(wt, b, x, xOff, y, yOff, in, out);
        }
    }

    /** One Transformer layer's parameters in arrays. */
    private record Layer(
            float[] norm1Gain,
            float[] norm1Bias,
            Weights qkv,
            Weights proj,
            float[] norm2Gain,
            float[] norm2Bias,
            Weights fc1,
            Weights fc2) {
        static Layer of(TransformerLayer t) {
            return new Layer(
                    Tensors.toFloats(t.attention.norm.weight),
                    Tensors.toFloats(t.attention.norm.bias),
                    Weights.of(t.attention.qkv),
                    Weights.of(t.attention.proj),
                    Tensors.toFloats(t.mlp.norm.weight),
                    Tensors.toFloats(t.mlp.norm.bias),
                    Weights.of(t.mlp.fc1),
                    Weights.of(t.mlp.fc2));
        }
    }
}
