package io.tarflow4j.distributed;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The training loop both the one-process and the distributed paths of the equivalence test run:
 * a tiny float64 TarFlow, synthetic images, the reference loss, AdamW.
 */
final class TinyTraining {
    static final TarFlowConfig CONFIG = TarFlowConfig.of(1, 8, 2, 64, 2, 1, true, 0);
    static final int GLOBAL_BATCH = 8;
    static final int STEPS = 3;
    static final int PIXELS = 8 * 8;

    private TinyTraining() {}

    /** A float64 model initialised from {@code seed}. */
    static TarFlow model(long seed) {
        Runtime.seed(seed);
        return new TarFlow(CONFIG, new Device("cpu"), ScalarType.Double);
    }

    static List<Tensor> parameters(TarFlow model) {
        return new ArrayList<>(model.parameters().values());
    }

    static AdamW optimizer(TarFlow model) {
        return new AdamW(parameters(model), 1e-3, 0.9, 0.95, 1e-8, 1e-4);
    }

    /** The global batch of {@code step}: smooth random images plus dequantisation noise, in [-1, 1]. */
    static float[] globalBatch(int step) {
        Random r = new Random(1000 + step);
        float[] x = new float[GLOBAL_BATCH * PIXELS];
        for (int b = 0; b < GLOBAL_BATCH; b++) {
            double fx = r.nextDouble() * 3;
            double fy = r.nextDouble() * 3;
            for (int p = 0; p < PIXELS; p++) {
                double v = 0.8 * Math.sin(fx * (p % 8) / 8.0 * Math.PI) * Math.cos(fy * (p / 8) / 8.0 * Math.PI);
                x[b * PIXELS + p] = (float) Math.max(-1, Math.min(1, v + 0.05 * r.nextGaussian()));
            }
        }
        return x;
    }

    /** Rows {@code [from, from + n)} of a batch. */
    static float[] slice(float[] batch, int from, int n) {
        float[] out = new float[n * PIXELS];
        System.arraycopy(batch, from * PIXELS, out, 0, out.length);
        return out;
    }

    /**
     * One step on {@code images} (n images): loss, backward, gradient mean over the group,
     * AdamW. Returns the loss averaged over the group.
     */
    static double step(TarFlow model, AdamW optimizer, float[] images, Distributed dist) {
        int n = images.length / PIXELS;
        try (NativeScope scope = NativeScope.open()) {
            Tensor x = model.place(Tensors.fromFloats(images, n, 1, 8, 8));
            Tensor loss = TarFlow.loss(model.forward(x, null));
            loss.backward();
            dist.allReduceGradients(optimizer.parameters());
            optimizer.step();
            optimizer.zeroGrad();
            return dist.allReduceMean(Tensors.item(loss));
        }
    }

    /** All parameters, flattened, in order, as float64. */
    static double[] flatParameters(TarFlow model) {
        try (NativeScope scope = NativeScope.open()) {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            for (Tensor p : parameters(model)) {
                java.nio.ByteBuffer b = Tensors.toBytes(p.detach().to(ScalarType.Double));
                byte[] a = new byte[b.remaining()];
                b.get(a);
                bytes.writeBytes(a);
            }
            java.nio.DoubleBuffer d = java.nio.ByteBuffer.wrap(bytes.toByteArray())
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .asDoubleBuffer();
            double[] out = new double[d.remaining()];
            d.get(out);
            return out;
        }
    }
}
