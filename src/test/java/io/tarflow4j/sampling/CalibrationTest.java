package io.tarflow4j.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Calibration reports the metrics and a strategy that reproduces the sequential sampler. */
class CalibrationTest {
    /** Many small ops: one intra-op thread (two spin badly on a busy 2-core machine, see docs/sampling.md). */
    @BeforeAll
    static void oneThread() {
        io.tarflow4j.tensor.Runtime.setThreads(1);
    }

    @Test
    void candidatesEndWithTheSequentialOrder() {
        org.junit.jupiter.api.Assertions.assertArrayEquals(
                new int[] {1, 2, 4, 8, 48}, Calibration.candidateSegments(49));
        org.junit.jupiter.api.Assertions.assertArrayEquals(
                new int[] {1, 2, 4, 8, 15}, Calibration.candidateSegments(16));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {1, 2, 4}, Calibration.candidateSegments(5));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {1}, Calibration.candidateSegments(2));
    }

    @Test
    void strategyFromCalibrationMatchesSequential() {
        TarFlowConfig config = TarFlowConfig.of(1, 8, 2, 64, 2, 1, true, 3); // T = 16
        TarFlow model = RandomWeights.perturbed(config, 21, 0.02);
        try (NativeScope scope = NativeScope.open()) {
            float[] pixels = Sampler.noise(4, 6L * 64, 0.5);
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = Math.max(-1f, Math.min(1f, pixels[i]));
            }
            Tensor images = Tensors.fromFloats(pixels, 6, 1, 8, 8);
            Tensor y = Tensors.labels(new int[] {0, 1, 2, 0, 1, 2});
            Calibration.Result r = Calibration.run(model, images, y, 1e-4);
            assertEquals(2, r.strategy().size());
            double pct = 0;
            for (int i = 0; i < 2; i++) {
                Calibration.BlockReport b = r.blocks().get(i);
                assertTrue(b.crm() > 0 && Double.isFinite(b.igmZeros()) && Double.isFinite(b.igmInput()), b.toString());
                assertTrue(b.maxError() <= 1e-3, b.toString());
                assertEquals(b.crm(), r.strategy().metrics().get(i).get("crm"));
                pct += b.crmPercent();
            }
            assertEquals(100, pct, 1e-9);
            Tensor noise = Tensors.fromFloats(Sampler.noise(8, 6L * 16 * 4, 1.0), 6, 16, 4);
            Sampler sampler = new Sampler(model);
            KvCache cache = KvCache.forModel(model, 6);
            Tensor seq = sampler.reverse(noise, y, cache, Inversion.sequential(Guidance.NONE, new SamplingStats(2)));
            Tensor jac = sampler.reverse(
                    noise,
                    y,
                    cache,
                    Inversion.sequential(Guidance.NONE, new SamplingStats(2)).withStrategy(r.strategy()));
            assertTrue(Tensors.maxAbsDiff(seq, jac) < 1e-2, "max difference " + Tensors.maxAbsDiff(seq, jac));
        }
    }
}
