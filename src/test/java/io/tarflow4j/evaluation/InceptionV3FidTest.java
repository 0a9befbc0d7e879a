package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.tensor.Tensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InceptionV3FidTest {
    static Map<String, Tensor> state;

    /**
     * Random weights with the checkpoint's names and shapes (plus its 1008-class fc and
     * num_batches_tracked), scaled so that activations stay finite over 94 layers: conv weights
     * N(0, 2/fan_in), BatchNorm gamma 1, beta 0.1, running mean 0.05, running var 1.2.
     */
    @BeforeAll
    static void generate() {
        Runtime.seed(11);
        state = new LinkedHashMap<>();
        TensorOptions f32 = new TensorOptions(ScalarType.Float);
        for (var e : InceptionV3Fid.tensorShapes().entrySet()) {
            long[] s = e.getValue();
            String name = e.getKey();
            Tensor t;
            if (name.endsWith("conv.weight")) {
                t = torch.randn(s, f32).mul(io.tarflow4j.tensor.Ops.s(Math.sqrt(2.0 / (s[1] * s[2] * s[3]))));
            } else if (name.endsWith("bn.weight")) {
                t = torch.ones(s, f32);
            } else if (name.endsWith("bn.bias")) {
                t = torch.full(s, io.tarflow4j.tensor.Ops.s(0.1), f32);
            } else if (name.endsWith("running_mean")) {
                t = torch.full(s, io.tarflow4j.tensor.Ops.s(0.05), f32);
            } else {
                t = torch.full(s, io.tarflow4j.tensor.Ops.s(1.2), f32);
            }
            t.retainReference();
            state.put(name, t);
        }
        state.put("fc.weight", torch.zeros(new long[] {1008, 2048}, f32));
        state.put("fc.bias", torch.zeros(new long[] {1008}, f32));
        state.put(
                "Conv2d_1a_3x3.bn.num_batches_tracked", torch.zeros(new long[] {}, new TensorOptions(ScalarType.Long)));
    }

    @Test
    void hasTheCheckpointsTensors() {
        Map<String, long[]> shapes = InceptionV3Fid.tensorShapes();
        // 94 BasicConv2d: conv.weight + bn.{weight, bias, running_mean, running_var}
        assertEquals(94 * 5, shapes.size());
        assertArrayEquals(new long[] {32, 3, 3, 3}, shapes.get("Conv2d_1a_3x3.conv.weight"));
        assertArrayEquals(new long[] {192, 2048, 1, 1}, shapes.get("Mixed_7c.branch_pool.conv.weight"));
        assertArrayEquals(new long[] {192, 192, 1, 7}, shapes.get("Mixed_6e.branch7x7dbl_5.conv.weight"));
        assertArrayEquals(new long[] {384, 448, 3, 3}, shapes.get("Mixed_7b.branch3x3dbl_2.conv.weight"));
        assertArrayEquals(new long[] {320}, shapes.get("Mixed_7a.branch3x3_2.bn.running_var"));
        // torchvision's inception_v3 has 27,161,264 parameters; less AuxLogits (3,326,696) and fc
        // (2,049,000) leaves 21,785,568 in the convolutions and BatchNorm affine parameters
        long params = 0;
        for (var e : shapes.entrySet()) {
            if (!e.getKey().contains("running_")) {
                long n = 1;
                for (long d : e.getValue()) {
                    n *= d;
                }
                params += n;
            }
        }
        assertEquals(21_785_568L, params);
    }

    @Test
    void producesFiniteFeaturesAt75And299() {
        InceptionV3Fid small = InceptionV3Fid.fromState(state, 75);
        InceptionV3Fid full = InceptionV3Fid.fromState(state, 299);
        try (NativeScope scope = NativeScope.open()) {
            Tensor gray = torch.rand(new long[] {2, 1, 28, 28}, new TensorOptions(ScalarType.Float))
                    .mul(io.tarflow4j.tensor.Ops.s(2))
                    .sub(io.tarflow4j.tensor.Ops.s(1));
            Tensor f = small.features(gray);
            assertArrayEquals(new long[] {2, 2048}, Tensors.shape(f));
            assertTrue(Double.isFinite(Tensors.item(f.sum())));
            assertTrue(Tensors.item(f.abs().sum()) > 0);
            Tensor g = full.features(gray.narrow(0, 0, 1));
            assertArrayEquals(new long[] {1, 2048}, Tensors.shape(g));
            assertTrue(Double.isFinite(Tensors.item(g.sum())));
            assertTrue(Tensors.item(g.min()) >= 0, "pool3 follows ReLUs");
            // gray input is the same as the gray value repeated on three channels
            Tensor rgb = small.features(gray.repeat(1, 3, 1, 1));
            assertEquals(0, Tensors.maxAbsDiff(f, rgb), 1e-4);
        }
    }

    @Test
    void basicConvMatchesAHandComputation() {
        InceptionV3Fid net = InceptionV3Fid.fromState(state, 75);
        float[] x = new float[3 * 5 * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i * 0.37);
        }
        float[] out = Tensors.toFloats(net.conv(Tensors.fromFloats(x, 1, 3, 5, 5), "Conv2d_1a_3x3", 2, 0, 0));
        float[] w = Tensors.toFloats(state.get("Conv2d_1a_3x3.conv.weight"));
        // 3x3, stride 2, no padding: 5x5 -> 2x2; BN: (v - 0.05) / sqrt(1.2 + 0.001) * 1 + 0.1; ReLU
        for (int o = 0; o < 32; o++) {
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    double v = 0;
                    for (int c = 0; c < 3; c++) {
                        for (int di = 0; di < 3; di++) {
                            for (int dj = 0; dj < 3; dj++) {
                                v += w[((o * 3 + c) * 3 + di) * 3 + dj] * x[(c * 5 + 2 * i + di) * 5 + 2 * j + dj];
                            }
                        }
                    }
                    double expected = Math.max(0, (v - 0.05) / Math.sqrt(1.2 + 0.001) + 0.1);
                    assertEquals(expected, out[(o * 2 + i) * 2 + j], 1e-5, "channel " + o);
                }
            }
        }
    }

    @Test
    void averagePoolLeavesThePaddingOut() {
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        float[] p = Tensors.toFloats(InceptionV3Fid.avgPoolNoPad(Tensors.fromFloats(x, 1, 1, 3, 3)));
        assertEquals((1 + 2 + 4 + 5) / 4.0, p[0], 1e-6, "corner: 4 real values");
        assertEquals((1 + 2 + 3 + 4 + 5 + 6) / 6.0, p[1], 1e-6, "edge: 6 real values");
        assertEquals(5.0, p[4], 1e-6, "centre: all 9");
    }

    @Test
    void refusesWrongStateDictsAndLoadsFiles(@TempDir Path dir) throws Exception {
        Map<String, Tensor> missing = new LinkedHashMap<>(state);
        missing.remove("Mixed_6b.branch7x7_2.conv.weight");
        var e = assertThrows(IllegalArgumentException.class, () -> InceptionV3Fid.fromState(missing, 299));
        assertTrue(e.getMessage().contains("missing Mixed_6b.branch7x7_2.conv.weight"), e.getMessage());
        Map<String, Tensor> extra = new LinkedHashMap<>(state);
        extra.put("AuxLogits.fc.weight", torch.zeros(new long[] {1008, 768}, new TensorOptions(ScalarType.Float)));
        e = assertThrows(IllegalArgumentException.class, () -> InceptionV3Fid.fromState(extra, 299));
        assertTrue(e.getMessage().contains("unexpected AuxLogits.fc.weight"), e.getMessage());
        Map<String, Tensor> shaped = new LinkedHashMap<>(state);
        shaped.put(
                "Mixed_5b.branch_pool.conv.weight",
                torch.zeros(new long[] {64, 192, 1, 1}, new TensorOptions(ScalarType.Float)));
        e = assertThrows(IllegalArgumentException.class, () -> InceptionV3Fid.fromState(shaped, 299));
        assertTrue(e.getMessage().contains("expected [32, 192, 1, 1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> InceptionV3Fid.fromState(state, 64));
        // a safetensors file with the same names loads through InceptionV3Fid.load
        Map<String, RawTensor> raw = new LinkedHashMap<>();
        state.forEach((k, v) -> raw.put(k, RawTensors.fromTensor(v)));
        Path file = dir.resolve("inception.safetensors");
        Safetensors.write(file, raw);
        InceptionV3Fid.load(file);
        Path notPth = dir.resolve("x.pth");
        java.nio.file.Files.writeString(notPth, "not a checkpoint");
        assertThrows(java.io.IOException.class, () -> InceptionV3Fid.load(notPth));
    }
}
