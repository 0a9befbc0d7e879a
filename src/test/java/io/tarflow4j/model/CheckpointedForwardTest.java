package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.s;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.sampling.Denoiser;
import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CheckpointedForwardTest {

    /** Gradients of the loss for every parameter and the input, by the plain or the checkpointed pass. */
    private static Map<String, Tensor> gradients(
            TarFlow model, Tensor images, Tensor y, boolean checkpointed, boolean bf16) {
        for (Tensor p : model.parameters().values()) {
            if (p.grad().defined()) {
                p.grad().zero_();
            }
        }
        Map<String, Tensor> grads = new LinkedHashMap<>();
        Tensor input = images.clone().requires_grad_(true);
        if (checkpointed) {
            CheckpointedForward pass;
            try (Autocast a = bf16 ? Autocast.bfloat16() : Autocast.unchanged()) {
                pass = CheckpointedForward.run(model, input, y);
            }
            assertFalse(pass.result().z().requires_grad(), "the checkpointed forward records no graph");
            grads.put("input", model.unpatchify(pass.backward(TarFlow::loss)));
        } else {
            TarFlow.ForwardResult r;
            try (Autocast a = bf16 ? Autocast.bfloat16() : Autocast.unchanged()) {
                r = model.forward(input, y);
            }
            TarFlow.loss(r).backward();
            grads.put("input", input.grad());
        }
        model.parameters().forEach((name, p) -> grads.put(name, p.grad().clone()));
        return grads;
    }

    @Test
    void theInputGradientAloneDenoisesAsThePlainPassAndLeavesTheParametersAlone() {
        try (NativeScope scope = NativeScope.open()) {
            TarFlow model = TarFlowTest.perturbedModel(TarFlowConfig.of(1, 8, 2, 64, 2, 2, true, 3), 9);
            Tensor images = torch.randn(2, 1, 8, 8).mul(s(0.5));
            Tensor y = Tensors.fromLongs(new long[] {1, -1}, 2);
            Tensor plain = Denoiser.denoise(model, images, y, 0.1, 1.0);
            Tensor recomputed = Denoiser.denoise(model, images, y, 0.1, 1.0, true);
            assertTrue(
                    Tensors.maxAbsDiff(plain, recomputed) < 1e-5,
                    "difference " + Tensors.maxAbsDiff(plain, recomputed));
            assertTrue(Tensors.maxAbsDiff(plain, images) > 1e-3, "denoising moved the images");
            for (Tensor p : model.parameters().values()) {
                assertFalse(p.grad().defined(), "a parameter's gradient was written");
            }
        }
    }

    @ParameterizedTest(name = "nvp={0} conditional={1} bf16={2}")
    @CsvSource({"true,true,false", "true,false,false", "false,true,false", "false,false,false", "true,true,true"})
    void givesTheGradientsOfThePlainBackwardPass(boolean nvp, boolean conditional, boolean bf16) {
        try (NativeScope scope = NativeScope.open()) {
            TarFlow model =
                    TarFlowTest.perturbedModel(TarFlowConfig.of(3, 8, 2, 64, 3, 2, nvp, conditional ? 4 : 0), 7);
            Tensor images = torch.randn(3, 3, 8, 8).mul(s(0.5));
            // one dropped label (-1: the mean class embedding), as label dropout makes them
            Tensor y = conditional ? Tensors.fromLongs(new long[] {2, -1, 0}, 3) : null;
            Map<String, Tensor> plain = gradients(model, images, y, false, bf16);
            Map<String, Tensor> recomputed = gradients(model, images, y, true, bf16);
            assertEquals(plain.keySet(), recomputed.keySet());
            double tolerance = bf16 ? 2e-2 : 1e-5;
            for (String name : plain.keySet()) {
                Tensor a = plain.get(name);
                Tensor b = recomputed.get(name);
                double scale = Math.max(1e-3, Tensors.item(a.abs().max()));
                double err = Tensors.maxAbsDiff(a, b);
                assertTrue(err <= tolerance * scale, name + ": max difference " + err + " against max |grad| " + scale);
            }
        }
    }
}
