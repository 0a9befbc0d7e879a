package io.tarflow4j.evaluation;

import static io.tarflow4j.tensor.Ops.s;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class BitsPerDimTest {

    /** A VP model (shift-only blocks, learned prior variance) and 3 dequantised 8x8 images. */
    @Test
    void standardPriorIgnoresTheLearnedVarianceOfVpModels() {
        Runtime.seed(3);
        TarFlow vp = new TarFlow(TarFlowConfig.of(1, 8, 2, 64, 2, 1, false, 0));
        float[] x = new float[3 * 64];
        Random r = new Random(2);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        try (NativeScope scope = NativeScope.open();
                GradMode g = GradMode.off()) {
            Tensor images = Tensors.fromFloats(x, 3, 1, 8, 8);
            float[] learnedOnes = Tensors.toFloats(BitsPerDim.perImage(vp, images, null, Prior.LEARNED));
            float[] standard = Tensors.toFloats(BitsPerDim.perImage(vp, images, null, Prior.STANDARD));
            for (int i = 0; i < 3; i++) {
                assertEquals(standard[i], learnedOnes[i], 1e-5, "var = 1: the two priors agree");
            }
            TarFlow.ForwardResult f = vp.forward(images, null);
            float[] meanZ2 = Tensors.toFloats(io.tarflow4j.tensor.Ops.mean(f.z().pow(s(2)), 1, 2));
            float[] logdet = Tensors.toFloats(f.logdets());
            for (int i = 0; i < 3; i++) {
                double want =
                        (0.5 * meanZ2[i] + BitsPerDim.HALF_LN_2PI - logdet[i] + BitsPerDim.LN128) / BitsPerDim.LN2;
                assertEquals(want, standard[i], 1e-4, "the reference's formula");
            }
            vp.priorVariance().fill_(new org.bytedeco.pytorch.Scalar(4.0));
            float[] learned = Tensors.toFloats(BitsPerDim.perImage(vp, images, null, Prior.LEARNED));
            float[] standardAgain = Tensors.toFloats(BitsPerDim.perImage(vp, images, null, Prior.STANDARD));
            for (int i = 0; i < 3; i++) {
                assertEquals(standard[i], standardAgain[i], 1e-6, "the standard prior does not read var");
                double want = standard[i] + (0.5 * meanZ2[i] * (0.25 - 1) + 0.5 * Math.log(4)) / BitsPerDim.LN2;
                assertEquals(want, learned[i], 1e-4, "var = 4: z^2/4 and 0.5 ln 4 per dimension");
                assertTrue(Math.abs(learned[i] - standard[i]) > 0.1);
            }
        }
        assertEquals(Prior.STANDARD, Prior.parse("Standard"));
        assertThrows(IllegalArgumentException.class, () -> Prior.parse("uniform"));
        assertEquals(Likelihood.MARGINAL, Likelihood.parse("marginal"));
    }

    @Test
    void logProbabilityAndBitsPerDimAreInverse() {
        assertEquals(-2.5 * 64 * Math.log(2), BitsPerDim.logProbability(2.5, 64), 1e-9);
        assertEquals(2.5, BitsPerDim.fromLogProbability(BitsPerDim.logProbability(2.5, 784), 784), 1e-12);
    }

    @Test
    void noiseDependsOnTheImageAndSeedNotOnOrder() {
        byte[] a = new byte[64];
        byte[] b = new byte[64];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        Dequantizer d = Dequantizer.uniform(5);
        float[] ua = d.forImage(a);
        d.forImage(b);
        assertEquals(
                java.util.Arrays.toString(ua),
                java.util.Arrays.toString(Dequantizer.uniform(5).forImage(a)));
        assertTrue(!java.util.Arrays.equals(ua, Dequantizer.uniform(5).forImage(b)));
        assertTrue(!java.util.Arrays.equals(ua, Dequantizer.uniform(6).forImage(a)));
        for (float u : ua) {
            assertTrue(u >= 0 && u < 1);
        }
        float[] center = Dequantizer.center().forImage(a);
        assertEquals(0.5f, center[7]);
    }
}
