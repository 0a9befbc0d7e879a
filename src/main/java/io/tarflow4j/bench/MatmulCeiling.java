package io.tarflow4j.bench;

import io.tarflow4j.tensor.NativeScope;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The matrix-product ceiling of this machine through libtorch: GFLOP/s of one product of
 * TarFlow's shapes (by default the MLP product of a mnist-toy training step, 12544 x 128 @ 128 x
 * 512) at the median of timed repetitions, with the intra-op threads as currently set. float32
 * products go to OpenBLAS (its kernel set follows {@code OPENBLAS_CORETYPE}), bfloat16 ones to
 * oneDNN.
 *
 * @param dtype the element type
 * @param rows rows of the left operand
 * @param inner the inner dimension
 * @param cols columns of the result
 * @param medianMillis the median product time
 */
public record MatmulCeiling(ScalarType dtype, long rows, long inner, long cols, double medianMillis) {
    /** Rows of the default left operand: a mnist-toy training batch, 256 images x 49 tokens. */
    public static final long ROWS = 12544;
    /** The default inner dimension: mnist-toy's width. */
    public static final long INNER = 128;
    /** The default result columns: mnist-toy's MLP width. */
    public static final long COLS = 512;
    /** Untimed products before the timed ones. */
    private static final int WARMUP = 3;

    /** Times {@code repeats} products of {@code dtype} after a few untimed ones. */
    public static MatmulCeiling measure(ScalarType dtype, long rows, long inner, long cols, int repeats) {
        if (rows < 1 || inner < 1 || cols < 1 || repeats < 1) {
            throw new IllegalArgumentException("need positive sizes and repeats, got " + rows + "x" + inner + " @ "
                    + inner + "x" + cols + ", " + repeats + " repeats");
        }
        List<Double> ms = new ArrayList<>();
        try (NativeScope outer = NativeScope.open()) {
            Tensor a = torch.randn(rows, inner).to(dtype);
            Tensor b = torch.randn(inner, cols).to(dtype);
            for (int i = 0; i < repeats + WARMUP; i++) {
                try (NativeScope s = NativeScope.open()) {
                    long t0 = System.nanoTime();
                    torch.matmul(a, b);
                    if (i >= WARMUP) {
                        ms.add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
        }
        return new MatmulCeiling(dtype, rows, inner, cols, BenchResult.median(ms));
    }

    /** The default shape's ceiling for {@code dtype}, 20 timed products. */
    public static MatmulCeiling measure(ScalarType dtype) {
        return measure(dtype, ROWS, INNER, COLS, 20);
    }

    /** Billions of floating-point operations per second (2 per multiply-add). */
    public double gflops() {
        return 2.0 * rows * inner * cols / (medianMillis * 1e6);
    }

    /** "float32" or "bfloat16". */
    public String dtypeName() {
        return dtype.intern() == ScalarType.BFloat16 ? "bfloat16" : "float32";
    }
}
