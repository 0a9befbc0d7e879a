package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class TarFlowTest {

    /** A random model whose blocks are far from the identity (proj_out is zero at init). */
    static TarFlow perturbedModel(TarFlowConfig config, long seed) {
        Runtime.seed(seed);
        TarFlow model = new TarFlow(config);
        try (GradMode g = GradMode.off()) {
            for (var e : model.parameters().entrySet()) {
                if (e.getKey().contains("proj_out") || e.getKey().contains("embed")) {
                    e.getValue().add_(torch.randn(Tensors.shape(e.getValue())).mul(s(0.05)));
                }
            }
        }
        return model;
    }

    @Test
    void patchifyMatchesUnfoldOrder() {
        // 1 image, 2 channels, 4x4, patch 2: token t = row-major patch index, feature c*4 + ki*2 + kj
        TarFlow model = new TarFlow(new TarFlowConfig(2, 4, 2, 64, List.of(1), 64, 4, true, 0));
        float[] v = new float[32];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        Tensor images = Tensors.fromFloats(v, 1, 2, 4, 4);
        float[] tokens = Tensors.toFloats(model.patchify(images));
        for (int t = 0; t < 4; t++) {
            for (int c = 0; c < 2; c++) {
                for (int ki = 0; ki < 2; ki++) {
                    for (int kj = 0; kj < 2; kj++) {
                        int row = (t / 2) * 2 + ki;
                        int col = (t % 2) * 2 + kj;
                        assertEquals(v[c * 16 + row * 4 + col], tokens[t * 8 + c * 4 + ki * 2 + kj]);
                    }
                }
            }
        }
        assertArrayEquals(v, Tensors.toFloats(model.unpatchify(model.patchify(images))));
    }

    @Test
    void reverseInvertsForward() {
        for (boolean nvp : new boolean[] {true, false}) {
            TarFlow model = perturbedModel(TarFlowConfig.of(3, 8, 2, 64, 3, 1, nvp, 4), 1);
            Tensor x = torch.randn(3, 3, 8, 8).mul(s(0.5));
            Tensor y = Tensors.fromLongs(new long[] {0, 3, 1}, 3);
            Tensor z;
            try (GradMode g = GradMode.off()) {
                z = model.forward(x, y).z().div(model.priorVariance().sqrt());
            }
            Tensor back = model.reverse(z, y, Guidance.NONE);
            assertTrue(Tensors.maxAbsDiff(back, x) < 1e-4, "nvp=" + nvp + " error " + Tensors.maxAbsDiff(back, x));
        }
    }

    @Test
    void chunkedDecodingMatchesTheParallelPass() {
        TarFlow model = perturbedModel(TarFlowConfig.of(1, 8, 2, 64, 2, 2, true, 3), 2);
        FlowBlock block = model.blocks().get(1);
        Tensor x = torch.randn(2, 16, 4);
        Tensor y = Tensors.fromLongs(new long[] {2, -1}, 2);
        try (GradMode g = GradMode.off()) {
            Tensor classRows = block.classRows(y);
            Affine all = block.affine(x, classRows, null);
            KvCache cache = KvCache.forModel(model, 2);
            // tokens 0..4, then 5..15: parameters for tokens 1..5 and 6..16 (the last is unused)
            Affine first = block.decode(x.narrow(1, 0, 5), 0, classRows, null, cache);
            Affine second = block.decode(x.narrow(1, 5, 10), 5, classRows, null, cache);
            Tensor decoded = torch.cat(new org.bytedeco.pytorch.TensorVector(first.shift(), second.shift()), 1);
            assertTrue(Tensors.maxAbsDiff(decoded, all.shift().narrow(1, 1, 15)) < 1e-5);
            Tensor decodedScale =
                    torch.cat(new org.bytedeco.pytorch.TensorVector(first.logScale(), second.logScale()), 1);
            assertTrue(Tensors.maxAbsDiff(decodedScale, all.logScale().narrow(1, 1, 15)) < 1e-5);
        }
    }

    @Test
    void bfloat16AutocastStaysCloseAndKeepsTheAffineInFloat32() {
        TarFlow model = perturbedModel(TarFlowConfig.of(1, 8, 2, 64, 2, 2, true, 0), 5);
        Tensor x = torch.randn(4, 1, 8, 8).mul(s(0.5));
        try (GradMode g = GradMode.off()) {
            TarFlow.ForwardResult exact = model.forward(x, null);
            TarFlow.ForwardResult mixed;
            try (io.tarflow4j.tensor.Autocast a = io.tarflow4j.tensor.Autocast.bfloat16()) {
                assertTrue(io.tarflow4j.tensor.Autocast.enabled());
                mixed = model.forward(x, null);
            }
            assertTrue(!io.tarflow4j.tensor.Autocast.enabled());
            assertEquals(org.bytedeco.pytorch.global.torch.ScalarType.Float, Tensors.dtype(mixed.logdets()));
            double loss = Tensors.item(TarFlow.loss(exact));
            double lossBf16 = Tensors.item(TarFlow.loss(mixed));
            assertEquals(loss, lossBf16, 2e-2 * Math.max(1, Math.abs(loss)));
        }
    }

    @Test
    void droppedLabelsUseTheMeanEmbedding() {
        TarFlow model = perturbedModel(TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, 3), 3);
        FlowBlock block = model.blocks().get(0);
        try (GradMode g = GradMode.off()) {
            Tensor rows = block.classRows(Tensors.fromLongs(new long[] {-1, 2}, 2));
            Tensor mean = block.classRows(null);
            assertTrue(Tensors.maxAbsDiff(rows.narrow(0, 0, 1), mean) == 0);
            assertTrue(Tensors.maxAbsDiff(rows.narrow(0, 1, 1), block.classEmbed.narrow(0, 2, 1)) == 0);
        }
    }

    @Test
    void priorVarianceFollowsTheLatentsForVpModels() {
        TarFlow model = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 1, 1, false, 0));
        Tensor z = torch.ones(5, 4, 4).mul(s(3));
        model.updatePrior(z);
        // var <- var + 0.1 * (mean z^2 - var) = 1 + 0.1 * 8
        assertEquals(1.8, Tensors.toFloats(model.priorVariance())[0], 1e-6);
    }

    @Test
    void parameterCountMatchesTheReference() {
        TarFlowConfig c = TarFlowConfig.of(1, 28, 4, 128, 4, 4, true, 0);
        TarFlow model = new TarFlow(c);
        long n = model.parameters().values().stream().mapToLong(Tensor::numel).sum();
        assertEquals(3_222_656, n, "the reference's mnist-toy model has 3,222,656 parameters");
        assertEquals(n, c.parameterCount());
    }

    @Test
    void loadStateNamesEveryProblem() {
        TarFlow model = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, 0));
        Map<String, Tensor> state = new HashMap<>(model.state());
        state.remove("blocks.0.proj_in.bias");
        state.put("blocks.0.pos_embed", torch.zeros(3, 64));
        state.put("blocks.9.extra", torch.zeros(1));
        var e = assertThrows(IllegalArgumentException.class, () -> model.loadState(state));
        assertTrue(e.getMessage().contains("missing blocks.0.proj_in.bias"), e.getMessage());
        assertTrue(e.getMessage().contains("blocks.0.pos_embed has shape [3, 64], expected [4, 64]"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected blocks.9.extra"), e.getMessage());
    }

    @Test
    void wrongShapesAreRefusedClearly() {
        TarFlow model = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, 0));
        var e = assertThrows(IllegalArgumentException.class, () -> model.forward(torch.zeros(2, 3, 4, 4), null));
        assertTrue(e.getMessage().contains("(B, 1, 4, 4)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> model.reverse(torch.zeros(2, 3, 4), null, Guidance.NONE));
    }

    @Test
    void configValidationNamesTheField() {
        var e = assertThrows(IllegalArgumentException.class, () -> TarFlowConfig.of(1, 28, 5, 128, 4, 4, true, 0));
        assertTrue(e.getMessage().startsWith("patch-size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TarFlowConfig.of(1, 28, 4, 100, 4, 4, true, 0));
        assertTrue(e.getMessage().startsWith("width"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Guidance(-1, Guidance.Target.BOTH, 1, false));
        assertThrows(IllegalArgumentException.class, () -> new Guidance(1, Guidance.Target.BOTH, 0, false));
    }

    @Test
    void referenceKeysRoundTrip() {
        TarFlowConfig c = new TarFlowConfig(3, 64, 4, 128, List.of(4, 1, 1), 64, 4, false, 7);
        assertEquals(c, ReferenceKeys.toConfig(ReferenceKeys.fromConfig(c)));
        var e = assertThrows(IllegalArgumentException.class, () -> ReferenceKeys.toConfig(Map.of("in_channels", "1")));
        assertTrue(e.getMessage().contains("is missing"), e.getMessage());
    }
}
