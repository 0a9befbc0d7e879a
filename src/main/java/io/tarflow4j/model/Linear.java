package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.linear;

import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.BlasKernels;
import io.tarflow4j.tensor.GradMode;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** A fully connected layer {@code y = x W^T + b}, initialised as {@code torch.nn.Linear}. */
final class Linear {
    /**
     * Up to this many rows, and without autograd (sampling decodes 1 token of a batch at a time),
     * {@link #apply} multiplies by W stored as a contiguous W^T: libtorch then hands OpenBLAS the
     * product in the orientation it multiplies 1.2-3x faster at 8-64 rows (docs/sampling.md).
     */
    static final long FEW_ROWS = 64;

    /** Side of the weight pieces for products that OpenBLAS would otherwise pack (see below). */
    static final int PIECE = 128;

    final Tensor weight;
    final Tensor bias;
    private final int in;
    private final int out;
    private DecodeWeights decodeWeights; // rebuilt when W or b changes

    Linear(Init init, int in, int out) {
        double bound = 1.0 / Math.sqrt(in);
        this.weight = init.uniform(bound, out, in);
        this.bias = init.uniform(bound, out);
        this.in = in;
        this.out = out;
    }

    Tensor apply(Tensor x) {
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
     * multiplication (32 rows, the four mnist-toy products: 150 us in pieces, 192 us whole; width
     * 768: 5.8 ms instead of 7.2 ms; docs/sampling.md).
     */
    static boolean usePieces(long rows, int in, int out) {
        return BlasKernels.SMALL_MATRIX
                && (long) rows * in * out > BlasKernels.SMALL_PRODUCT
                && (long) rows * Math.min(in, PIECE) * Math.min(out, PIECE) <= BlasKernels.SMALL_PRODUCT;
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

    void collect(String prefix, Map<String, Tensor> out) {
        out.put(prefix + "weight", weight);
        out.put(prefix + "bias", bias);
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
                        p[o][i] = keep(weight.narrow(0, o0, on).narrow(1, i0, Math.min(PIECE, in - i0)).t().contiguous());
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
