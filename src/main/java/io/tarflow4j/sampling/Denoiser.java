package io.tarflow4j.sampling;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.model.CheckpointedForward;
import io.tarflow4j.model.TarFlow;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Score-based denoising (Tweedie's formula): a model trained on images with Gaussian noise of
 * std sigma learns the density of noisy images, and {@code x + sigma^2 * grad log p(x)} is the
 * expected clean image. As in the reference, the gradient is taken of the training loss, whose
 * scale is 1/(B*C*H*W) of the summed negative log-likelihood, so the step is
 * {@code x - B*C*H*W*sigma^2 * grad loss}.
 */
public final class Denoiser {
    private Denoiser() {}

    /**
     * Denoises images x (B, C, H, W).
     *
     * @param y labels used by the model's likelihood (null: mean class embedding)
     * @param sigma the training noise std
     * @param scale multiplies the step (1 = the reference)
     */
    public static Tensor denoise(TarFlow model, Tensor x, Tensor y, double sigma, double scale) {
        return denoise(model, x, y, sigma, scale, false);
    }

    /**
     * {@link #denoise}, with {@code checkpointed}: the gradient by activation checkpointing's
     * recomputing backward pass ({@link CheckpointedForward}), in one layer's activations of memory.
     */
    public static Tensor denoise(TarFlow model, Tensor x, Tensor y, double sigma, double scale, boolean checkpointed) {
        Tensor input = x.detach().clone().requires_grad_(!checkpointed);
        Tensor grad = checkpointed
                ? model.unpatchify(CheckpointedForward.run(model, input, y).inputGradient(TarFlow::loss))
                : torch.grad(new TensorVector(TarFlow.loss(model.forward(input, y))), new TensorVector(input))
                        .get(0);
        double step = input.numel() * sigma * sigma * scale;
        return input.detach().sub(grad.mul(s(step)));
    }
}
