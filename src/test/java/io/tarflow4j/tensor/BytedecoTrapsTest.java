package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.ByteRegion;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each known Bytedeco trap, and that our layer avoids it. */
class BytedecoTrapsTest {

    @Test
    void adamwBetasAreStoredReversed() {
        AdamWOptions raw = new AdamWOptions(1e-3);
        // libtorch's default (0.9, 0.999) shows up as (0.999, 0.9) through Bytedeco
        assertEquals(0.999, raw.betas().get(0), 0);
        assertEquals(0.9, raw.betas().get(1), 0);
        Tensor p = Tensors.fromFloats(new float[] {1f}, 1).requires_grad_(true);
        try (AdamW opt = new AdamW(List.of(p), 1e-3, 0.9, 0.95, 1e-8, 0)) {
            assertEquals(0.9, opt.beta1(), 0);
            assertEquals(0.95, opt.beta2(), 0);
        }
    }

    @Test
    void adamwMatchesPyTorchOverSeveralSteps() {
        // hand-computed torch.optim.AdamW(lr=0.1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)
        // on loss = sum(p^2) from p = [1, -2]: three steps computed in float64
        double lr = 0.1, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.01;
        double[] p = {1, -2};
        double[] m = new double[2];
        double[] v = new double[2];
        Tensor t = Tensors.fromFloats(new float[] {1f, -2f}, 2).requires_grad_(true);
        try (AdamW opt = new AdamW(List.of(t), lr, b1, b2, eps, wd)) {
            for (int step = 1; step <= 3; step++) {
                opt.zeroGrad();
                t.pow(Ops.s(2)).sum().backward();
                opt.step();
                for (int i = 0; i < 2; i++) {
                    double g = 2 * p[i];
                    p[i] *= 1 - lr * wd;
                    m[i] = b1 * m[i] + (1 - b1) * g;
                    v[i] = b2 * v[i] + (1 - b2) * g * g;
                    double mh = m[i] / (1 - Math.pow(b1, step));
                    double vh = v[i] / (1 - Math.pow(b2, step));
                    p[i] -= lr * mh / (Math.sqrt(vh) + eps);
                }
            }
        }
        float[] got = Tensors.toFloats(t);
        assertEquals(p[0], got[0], 1e-6);
        assertEquals(p[1], got[1], 1e-6);
    }

    @Test
    void adamwStateRoundTripsThroughAFileMapping(@TempDir Path dir) throws Exception {
        Tensor a = Tensors.fromFloats(new float[] {1f, 2f}, 2).requires_grad_(true);
        Tensor b = Tensors.fromFloats(new float[] {1f, 2f}, 2).requires_grad_(true);
        try (AdamW first = new AdamW(List.of(a), 0.1, 0.9, 0.95, 1e-8, 0);
                AdamW second = new AdamW(List.of(b), 0.1, 0.9, 0.95, 1e-8, 0)) {
            a.pow(Ops.s(3)).sum().backward();
            b.pow(Ops.s(2)).sum().backward(); // other moments, so only a loaded state can agree
            first.step();
            second.step();
            Path file = dir.resolve("adamw.pt");
            first.saveState(file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                second.loadState(ByteRegion.map(ch, 0, ch.size()));
            }
            try (GradMode off = GradMode.off()) {
                b.copy_(a);
            }
            for (Tensor t : List.of(a, b)) {
                t.grad().zero_();
                t.pow(Ops.s(3)).sum().backward();
            }
            first.step();
            second.step();
            assertArrayEquals(Tensors.toFloats(a), Tensors.toFloats(b), 0f);
        }
    }

    @Test
    void longVectorOfASizeIsZeros() {
        assertEquals(3, new LongVector(3).size());
        assertEquals(0, new LongVector(3).get(0));
        LongVector values = new LongVector(new long[] {3});
        assertEquals(1, values.size());
        assertEquals(3, values.get(0));
    }

    @Test
    void nativeEnumsNeedIntern() {
        Tensor t = torch.ones(2);
        assertNotSame(ScalarType.Float, t.scalar_type());
        assertFalse(t.scalar_type() == ScalarType.Float);
        assertSame(ScalarType.Float, Tensors.dtype(t));
    }

    @Test
    void scopeFreesWhatItDoesNotKeep() {
        Tensor kept;
        Tensor lost;
        try (NativeScope scope = NativeScope.open()) {
            lost = torch.ones(3);
            kept = scope.keep(torch.ones(3).mul(Ops.s(2)));
        }
        assertTrue(lost.isNull(), "a tensor made in a scope is freed at its close");
        assertEquals(6.0, Tensors.item(kept.sum()), 0);
    }

    @Test
    void keepMovesToTheEnclosingScope() {
        Tensor kept;
        try (NativeScope outer = NativeScope.open()) {
            try (NativeScope inner = NativeScope.open()) {
                kept = inner.keep(torch.ones(2));
            }
            assertFalse(kept.isNull());
        }
        assertTrue(kept.isNull(), "kept into the outer scope, freed with it");
    }

    @Test
    void scopesBoundNativeMemoryOfALoop() {
        // 200 steps of 4 MB temporaries: without scopes the process would grow by ~800 MB
        Tensor big = torch.ones(1024, 1024);
        long before = org.bytedeco.javacpp.Pointer.physicalBytes();
        for (int i = 0; i < 200; i++) {
            try (NativeScope step = NativeScope.open()) {
                big.mul(Ops.s(2)).add(Ops.s(1)).sum();
            }
        }
        long grown = org.bytedeco.javacpp.Pointer.physicalBytes() - before;
        assertTrue(grown < 200L << 20, "native memory grew by " + (grown >> 20) + " MB");
    }

    @Test
    void integerScalarsKeepIntegerDtype() {
        Tensor y = Tensors.fromLongs(new long[] {-1, 2}, 2);
        assertSame(ScalarType.Long, Tensors.dtype(y.clamp_min(new org.bytedeco.pytorch.Scalar(0L))));
        assertSame(ScalarType.Float, Tensors.dtype(y.clamp_min(Ops.s(0))), "a double scalar promotes");
    }

    @Test
    void conversionsRoundTrip() {
        float[] v = {1.5f, -2f, 3f, 4f, 5f, 6f};
        Tensor t = Tensors.fromFloats(v, 2, 3);
        assertArrayEquals(new long[] {2, 3}, Tensors.shape(t));
        assertArrayEquals(v, Tensors.toFloats(t), 0f);
        assertArrayEquals(
                new float[] {1.5f, 4f, -2f, 5f, 3f, 6f},
                Tensors.toFloats(t.t()),
                0f,
                "non-contiguous views are read in logical order");
        assertArrayEquals(new long[] {7, -1}, Tensors.toLongs(Tensors.fromLongs(new long[] {7, -1}, 2)));
        assertThrows(IllegalArgumentException.class, () -> Tensors.fromFloats(v, 4, 2));
    }

    @Test
    void threadsAreSettable() {
        int before = Runtime.threads();
        try {
            Runtime.setThreads(1);
            assertEquals(1, Runtime.threads());
        } finally {
            Runtime.setThreads(before);
        }
        assertThrows(IllegalArgumentException.class, () -> Runtime.setThreads(0));
        assertThrows(IllegalArgumentException.class, () -> Runtime.device("tpu"));
    }
}
