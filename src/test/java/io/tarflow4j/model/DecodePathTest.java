package io.tarflow4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Ops;
import io.tarflow4j.tensor.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** The pieces that make decoding fast: the few-rows product and row views of the KV cache. */
class DecodePathTest {

    @Test
    void fewRowsProductEqualsLinearAndFollowsWeightChanges() {
        try (NativeScope s = NativeScope.open()) {
            torch.manual_seed(1);
            Linear layer = new Linear(new Init(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Float), 24, 40);
            Tensor x = torch.randn(3, 5, 24); // 15 rows: the transposed path
            Tensor big = torch.randn(70, 24); // more than FEW_ROWS: the plain path
            try (GradMode off = GradMode.off()) {
                Tensor expected = Ops.linear(x, layer.weight, layer.bias);
                Tensor got = layer.apply(x);
                assertEquals(3, got.size(0));
                assertEquals(5, got.size(1));
                assertEquals(40, got.size(2));
                assertTrue(Tensors.maxAbsDiff(expected, got) < 1e-5, "few rows: " + Tensors.maxAbsDiff(expected, got));
                assertTrue(Tensors.maxAbsDiff(Ops.linear(big, layer.weight, layer.bias), layer.apply(big)) < 1e-5);
                // an in-place update (as AdamW makes) must not leave a stale transposed copy behind
                layer.weight.mul_(new org.bytedeco.pytorch.Scalar(-2.0));
                Tensor after = layer.apply(x);
                assertTrue(
                        Tensors.maxAbsDiff(Ops.linear(x, layer.weight, layer.bias), after) < 1e-5,
                        "after the weight changed: "
                                + Tensors.maxAbsDiff(Ops.linear(x, layer.weight, layer.bias), after));
            }
        }
    }

    @Test
    void vectorProductsPerRowEqualLinear() {
        try (NativeScope s = NativeScope.open();
                GradMode off = GradMode.off()) {
            torch.manual_seed(4);
            Linear layer =
                    new Linear(new Init(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Float), 96, 200);
            for (int rows = 1; rows <= io.tarflow4j.tensor.BlasKernels.VECTOR_ROWS + 1; rows++) {
                Tensor x = torch.randn(rows, 1, 96);
                Tensor got = layer.apply(x);
                assertEquals(
                        java.util.List.of((long) rows, 1L, 200L),
                        java.util.Arrays.stream(got.sizes().vec().get()).boxed().toList());
                assertTrue(Tensors.maxAbsDiff(Ops.linear(x, layer.weight, layer.bias), got) < 1e-5, rows + " rows");
            }
            // a row of a larger tensor (not contiguous with its neighbours) and a changed weight
            Tensor wide = torch.randn(1, 3, 2, 96).select(2, 1);
            layer.weight.mul_(new org.bytedeco.pytorch.Scalar(0.5));
            Tensor one = wide.narrow(1, 1, 1);
            assertTrue(Tensors.maxAbsDiff(Ops.linear(one, layer.weight, layer.bias), layer.apply(one)) < 1e-5);
        }
    }

    @Test
    void productInPiecesEqualsLinearAtEveryShape() {
        try (NativeScope s = NativeScope.open();
                GradMode off = GradMode.off()) {
            torch.manual_seed(2);
            Init init = new Init(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Float);
            // widths that are and are not multiples of the piece, as in the Transformer's products
            int[][] shapes = {{128, 384}, {128, 512}, {512, 128}, {200, 300}, {130, 129}};
            for (int[] shape : shapes) {
                Linear layer = new Linear(init, shape[0], shape[1]);
                for (long rows : new long[] {1, 7, 32, 61}) {
                    Tensor x = torch.randn(rows, 1, shape[0]);
                    Tensor expected = Ops.linear(x, layer.weight, layer.bias);
                    Tensor got = layer.apply(x);
                    assertEquals(
                            java.util.List.of(rows, 1L, (long) shape[1]),
                            java.util.Arrays.stream(got.sizes().vec().get())
                                    .boxed()
                                    .toList());
                    double diff = Tensors.maxAbsDiff(expected, got);
                    assertTrue(diff < 1e-4, rows + " rows, " + shape[0] + " -> " + shape[1] + ": " + diff);
                }
                // a changed bias (not only the weight) reaches the pieces
                layer.bias.add_(new org.bytedeco.pytorch.Scalar(1.0));
                Tensor x = torch.randn(32, 1, shape[0]);
                assertTrue(
                        Tensors.maxAbsDiff(Ops.linear(x, layer.weight, layer.bias), layer.apply(x)) < 1e-4,
                        "after the bias changed");
            }
        }
    }

    @Test
    void inPlaceResidualsAndGeluWithoutAutogradChangeNothing() {
        try (NativeScope s = NativeScope.open()) {
            torch.manual_seed(3);
            TransformerLayer layer = new TransformerLayer(
                    new Init(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Float), 64, 32, 4);
            Tensor x = torch.randn(3, 5, 64);
            Tensor before = x.clone();
            Tensor outOfPlace = layer.forward(x, null); // autograd on: the plain path
            Tensor inPlace;
            Tensor mixed;
            try (GradMode off = GradMode.off()) {
                inPlace = layer.forward(x, null);
                try (io.tarflow4j.tensor.Autocast bf16 = io.tarflow4j.tensor.Autocast.bfloat16()) {
                    mixed = layer.forward(x, null);
                }
            }
            // (not bit-equal: without autograd few-row products take the transposed-layout path)
            assertTrue(
                    Tensors.maxAbsDiff(outOfPlace, inPlace) < 1e-5,
                    "in place equals out of place: " + Tensors.maxAbsDiff(outOfPlace, inPlace));
            assertEquals(0.0, Tensors.maxAbsDiff(before, x), "the layer's input is not overwritten");
            // under bf16 autocast the products are bf16 but the residual stream stays float32
            assertEquals(torch.ScalarType.Float, Tensors.dtype(mixed));
            assertTrue(
                    Tensors.maxAbsDiff(outOfPlace, mixed) < 0.1,
                    "bf16 close: " + Tensors.maxAbsDiff(outOfPlace, mixed));
        }
    }

    @Test
    void fewRowsWithGradientsUseTheAutogradPath() {
        try (NativeScope s = NativeScope.open()) {
            Linear layer = new Linear(new Init(new org.bytedeco.pytorch.Device("cpu"), torch.ScalarType.Float), 4, 3);
            layer.weight.requires_grad_(true);
            Tensor y = layer.apply(torch.ones(2, 4)).sum();
            y.backward();
            assertTrue(layer.weight.grad().defined(), "training through few rows still reaches the weights");
        }
    }

    @Test
    void cacheRowsAreAViewSharingMemory() {
        try (NativeScope s = NativeScope.open()) {
            KvCache cache = new KvCache(2, 4, 1, 3, 2, new TensorOptions(torch.ScalarType.Float));
            KvCache part = cache.rowSlice(2, 2);
            assertEquals(2, part.rows());
            part.put(
                    1,
                    0,
                    torch.full(new long[] {2, 1, 1, 2}, new org.bytedeco.pytorch.Scalar(7.0)),
                    torch.full(new long[] {2, 1, 1, 2}, new org.bytedeco.pytorch.Scalar(9.0)));
            float[] keys = Tensors.toFloats(cache.keys(1, 1).contiguous());
            float[] values = Tensors.toFloats(cache.values(1, 1).contiguous());
            // rows 2 and 3 of the full cache hold what was written through the view
            assertEquals(7f, keys[4]);
            assertEquals(7f, keys[7]);
            assertEquals(9f, values[6]);
        }
    }
}
