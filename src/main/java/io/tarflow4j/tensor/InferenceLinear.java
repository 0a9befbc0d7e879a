package io.tarflow4j.tensor;

import static io.tarflow4j.tensor.Ops.linear;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code y = x W^T + b} for a weight W (out x in) and bias b, by the fastest OpenBLAS path for
 * the number of rows: the plain product with autograd or many rows; without autograd, one
 * matrix-vector product per row (at most {@link BlasKernels#VECTOR_ROWS} rows), W in W^T's
 * memory order (up to {@link #FEW_ROWS} rows), or W^T in pieces that OpenBLAS's small-matrix
 * kernels take without packing. Decoding one token at a time is all such few-row products; why
 * each path wins where it does is measured in docs/sampling.md.
 *
 * <p>The weight layouts are copies made on first use and rebuilt when W or b changes in place
 * (as an optimizer step does); they live with this object, outside any caller's scope.
 */
public final class InferenceLinear {
    /**
     * Up to this many rows, and without autograd, the product uses W stored as a contiguous W^T:
     * libtorch then hands OpenBLAS the product in the orientation it multiplies faster at 8-64 rows.
     */
    static final long FEW_ROWS = 64;

    /** Side of the weight pieces for products that OpenBLAS would otherwise pack. */
    static final int PIECE = 128;

    private final Tensor weight;
    private final Tensor bias;
    private final int in;
    private final int out;
    private DecodeWeights decodeWeights; // rebuilt when W or b changes

    /** The product by {@code weight} (out x in) and {@code bias} (out), both held by the caller. */
    public InferenceLinear(Tensor weight, Tensor bias) {
        this.weight = weight;
        this.bias = bias;
        this.out = (int) weight.size(0);
        this.in = (int) weight.size(1);
    }

    /** {@code x W^T + b} for x (..., in). */
    public Tensor apply(Tensor x) {
        if (GradMode.enabled() || x.numel() > FEW_ROWS * in) {
            return linear(x, weight, bias);
        }
        long rows = x.numel() / in;
        if (rows <= BlasKernels.VECTOR_ROWS && x.device().is_cpu() && !Autocast.enabled()) {
            return multiplyByRows(x, rows);
        }
        DecodeWeights w = decodeWeights();
        if (w.cpu && usePieces(rows, in, out) && !Autocast.enabled()) {
            return w.multiplyInPieces(x, rows, in, out);
        }
        return linear(x, w.transposedLayout(), bias);
    }

    /**
     * {@code x W^T + b} as one matrix-vector product per row, straight from W: no copy of the
     * weight, which is read once per row (at 1-4 rows a weight streamed from memory; see
     * {@link BlasKernels#VECTOR_ROWS}).
     */
    private Tensor multiplyByRows(Tensor x, long rows) {
        int in = (int) weight.size(1);
        int out = (int) weight.size(0);
        long[] shape = x.sizes().vec().get();
        shape[shape.length - 1] = out;
        Tensor y = x.new_empty(shape);
        if (rows == 1) {
            torch.addmv_out(y.view(out), bias, weight, x.reshape(in));
            return y;
        }
        Tensor x2 = x.reshape(rows, in);
        Tensor y2 = y.view(rows, out);
        for (long r = 0; r < rows; r++) {
            torch.addmv_out(y2.select(0, r), bias, weight, x2.select(0, r));
        }
        return y;
    }

    /**
     * Whether a product of {@code rows} rows by an (out x in) weight goes faster as pieces of at
     * most {@link #PIECE} x {@link #PIECE}: on cores with OpenBLAS's small-matrix kernels, a
     * product of at most {@link BlasKernels#SMALL_PRODUCT} multiply-adds skips the copy ("packing")
     * of the weight that a larger one makes on every call, which at 32 rows costs as much as the
     * multiplication (docs/sampling.md).
     */
    static boolean usePieces(long rows, int in, int out) {
        return BlasKernels.SMALL_MATRIX
                && rows * in * out > BlasKernels.SMALL_PRODUCT
                && rows * Math.min(in, PIECE) * Math.min(out, PIECE) <= BlasKernels.SMALL_PRODUCT;
    }

    private synchronized DecodeWeights decodeWeights() {
        long version = weight.__dispatch__version() + bias.__dispatch__version();
        if (decodeWeights == null || decodeWeights.version != version) {
            if (decodeWeights != null) {
                decodeWeights.release();
            }
            decodeWeights = new DecodeWeights(weight, bias, version);
        }
        return decodeWeights;
    }

    /**
     * Copies of W and b laid out for few-row products, each made on first use (a sampling run
     * needs one of them, so the model's memory grows by one weight copy): W in W^T's memory
     * order, or W^T cut into pieces of at most PIECE x PIECE, contiguous each. They live with the
     * layer, outside any caller's scope.
     */
    private static final class DecodeWeights {
        final long version;
        final boolean cpu; // pieces only pay on OpenBLAS
        private final Tensor weight;
        private final Tensor bias;
        private Tensor transposedLayout; // W's values and shape in W^T's memory order
        private Tensor[][] pieces; // [output piece][input piece], each (in piece x out piece) = a block of W^T
        private Tensor[] biasPieces;

        DecodeWeights(Tensor weight, Tensor bias, long version) {
            this.weight = weight;
            this.bias = bias;
            this.version = version;
            this.cpu = weight.device().is_cpu();
        }

        synchronized Tensor transposedLayout() {
            if (transposedLayout == null) {
                transposedLayout = keep(weight.t().contiguous().t()); // a view of the copy
            }
            return transposedLayout;
        }

        private synchronized Tensor[][] pieces() {
            if (pieces == null) {
                long out = weight.size(0);
                long in = weight.size(1);
                int outPieces = (int) ((out + PIECE - 1) / PIECE);
                int inPieces = (int) ((in + PIECE - 1) / PIECE);
                Tensor[][] p = new Tensor[outPieces][inPieces];
                biasPieces = new Tensor[outPieces];
                for (int o = 0; o < outPieces; o++) {
                    long o0 = (long) o * PIECE;
                    long on = Math.min(PIECE, out - o0);
                    biasPieces[o] = keep(bias.narrow(0, o0, on).contiguous());
                    for (int i = 0; i < inPieces; i++) {
                        long i0 = (long) i * PIECE;
                        p[o][i] = keep(weight.narrow(0, o0, on)
                                .narrow(1, i0, Math.min(PIECE, in - i0))
                                .t()
                                .contiguous());
                    }
                }
                pieces = p;
            }
            return pieces;
        }

        /** {@code x W^T + b}, each output piece summed over the input pieces. */
        Tensor multiplyInPieces(Tensor x, long rows, int in, int out) {
            Tensor[][] p = pieces();
            Tensor x2 = x.reshape(rows, in);
            Tensor y = x2.new_empty(new long[] {rows, out});
            for (int o = 0; o < p.length; o++) {
                long o0 = (long) o * PIECE;
                Tensor yo = y.narrow(1, o0, Math.min(PIECE, out - o0));
                torch.addmm_out(yo, biasPieces[o], x2.narrow(1, 0, Math.min(PIECE, in)), p[o][0]);
                for (int i = 1; i < p[o].length; i++) {
                    long i0 = (long) i * PIECE;
                    yo.addmm_(x2.narrow(1, i0, Math.min(PIECE, in - i0)), p[o][i]);
                }
            }
            long[] shape = x.sizes().vec().get();
            shape[shape.length - 1] = out;
            return y.view(shape);
        }

        synchronized void release() {
            if (transposedLayout != null) {
                transposedLayout.releaseReference();
            }
            if (pieces != null) {
                for (int o = 0; o < pieces.length; o++) {
                    biasPieces[o].releaseReference();
                    for (Tensor piece : pieces[o]) {
                        piece.releaseReference();
                    }
                }
            }
        }

        private static Tensor keep(Tensor t) {
            t.retainReference(); // lives with the layer, not with the caller's scope
            return t;
        }
    }
}
