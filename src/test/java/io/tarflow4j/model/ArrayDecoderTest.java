package io.tarflow4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Ops;
import io.tarflow4j.tensor.Tensors;
import io.tarflow4j.tensor.VectorSupport;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** The array decoder inverts a block as the libtorch steps do, in every guidance setting. */
class ArrayDecoderTest {

    private static TarFlow perturbed(TarFlowConfig c, long seed) {
        torch.manual_seed(seed);
        TarFlow model = new TarFlow(c);
        try (GradMode g = GradMode.off()) {
            for (Tensor p : model.parameters().values()) {
                p.add_(torch.randn_like(p).mul(Ops.s(0.05)));
            }
        }
        return model;
    }

    @Test
    void theTestJvmHasTheVectorApi() {
        assertTrue(VectorSupport.AVAILABLE, "surefire starts the JVM with --add-modules jdk.incubator.vector");
    }

    @Test
    void arraysMatchLibtorchStepsForEveryGuidance() {
        TarFlowConfig conditional = new TarFlowConfig(2, 8, 2, 64, List.of(2, 1), 16, 4, true, 5);
        TarFlowConfig unconditional = new TarFlowConfig(1, 8, 2, 48, List.of(1, 2), 24, 2, false, 0);
        Guidance.Target[] targets = Guidance.Target.values();
        for (TarFlowConfig c : List.of(conditional, unconditional)) {
            TarFlow model = perturbed(c, 7);
            for (long b : new long[] {1, 2}) {
                for (int variant = 0; variant < 5; variant++) {
                    Guidance g = variant == 0
                            ? Guidance.NONE
                            : new Guidance(
                                    1.5,
                                    targets[variant % 3],
                                    variant == 1 && c.conditional() ? 1.0 : 0.7,
                                    variant == 4);
                    if (g.active() && b > 1) {
                        continue; // two images only unguided: the guided rows are already two
                    }
                    try (NativeScope s = NativeScope.open();
                            GradMode off = GradMode.off()) {
                        Tensor x = torch.randn(b, c.numTokens(), c.tokenDim());
                        Tensor y = c.conditional()
                                ? Tensors.fromLongs(b == 1 ? new long[] {3} : new long[] {-1, 4}, b)
                                : null;
                        KvCache cache = KvCache.forModel(model, g.active() ? 2 * b : b);
                        for (int i = 0; i < c.numBlocks(); i++) {
                            FlowBlock block = model.blocks().get(i);
                            assertTrue(ArrayDecoder.suits(x, g.active() ? 2 * b : b, c.width()));
                            Tensor arrays = block.reverse(x, y, g, cache, null);
                            Tensor steps = block.reverseWithTensors(x, y, g, cache, null);
                            double scale =
                                    Math.max(1.0, Tensors.item(steps.abs().max()));
                            double diff = Tensors.maxAbsDiff(arrays, steps);
                            assertTrue(diff < 2e-5 * scale, c + " block " + i + " b=" + b + " " + g + ": " + diff);
                        }
                    }
                }
            }
        }
    }

    @Test
    void weightsCopiedAgainAfterAnUpdate() {
        TarFlowConfig c = new TarFlowConfig(1, 8, 2, 32, List.of(1), 16, 2, true, 0);
        TarFlow model = perturbed(c, 3);
        FlowBlock block = model.blocks().get(0);
        try (NativeScope s = NativeScope.open();
                GradMode off = GradMode.off()) {
            Tensor x = torch.randn(1, c.numTokens(), c.tokenDim());
            KvCache cache = KvCache.forModel(model, 1);
            block.reverse(x, null, Guidance.NONE, cache, null);
            model.parameters().values().forEach(p -> p.mul_(Ops.s(1.1)));
            double diff = Tensors.maxAbsDiff(
                    block.reverse(x, null, Guidance.NONE, cache, null),
                    block.reverseWithTensors(x, null, Guidance.NONE, cache, null));
            assertTrue(diff < 1e-4, "after the weights changed: " + diff);
        }
    }
}
