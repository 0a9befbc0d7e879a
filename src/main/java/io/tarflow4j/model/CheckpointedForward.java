package io.tarflow4j.model;

import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Activation checkpointing of a training step: a forward pass without autograd that keeps only
 * each block's input and each Transformer layer's input (rows, T, width), and a backward pass
 * that recomputes one layer at a time from them. Memory then holds one layer's autograd graph
 * instead of every layer's, for one more forward pass of compute.
 *
 * <p>libtorch's C++ API has no {@code torch.utils.checkpoint}, so the backward pass is segmented
 * by hand: block by block in reverse, the head (output projection, shifted affine step,
 * log-determinant) is recomputed from the last layer's output and back-propagated with the
 * gradient of the block's outputs; then each layer, last to first, from its saved input with the
 * gradient of its output; then the stem (input projection and embeddings). Parameter gradients
 * accumulate in {@code .grad} as in one backward pass of {@link TarFlow#forward}, and a
 * recomputed segment runs under the autocast setting of the forward pass.
 *
 * <pre>{@code
 * CheckpointedForward pass = CheckpointedForward.run(model, images, y);
 * double loss = Tensors.item(TarFlow.loss(pass.result()));
 * pass.backward(TarFlow::loss);
 * }</pre>
 */
public final class CheckpointedForward {
    private final TarFlow model;
    private final Tensor y;
    private final boolean autocast;
    private final Tensor[] blockInputs;
    private final Tensor[][] layerInputs;
    private final TarFlow.ForwardResult result;

    private CheckpointedForward(
            TarFlow model,
            Tensor y,
            boolean autocast,
            Tensor[] blockInputs,
            Tensor[][] layerInputs,
            TarFlow.ForwardResult result) {
        this.model = model;
        this.y = y;
        this.autocast = autocast;
        this.blockInputs = blockInputs;
        this.layerInputs = layerInputs;
        this.result = result;
    }

    /**
     * The forward pass of {@link TarFlow#forward}, without autograd, keeping what
     * {@link #backward} recomputes from. Runs under the caller's autocast setting, which the
     * recomputation repeats.
     */
    public static CheckpointedForward run(TarFlow model, Tensor images, Tensor y) {
        List<FlowBlock> blocks = model.blocks();
        Tensor[] blockInputs = new Tensor[blocks.size()];
        Tensor[][] layerInputs = new Tensor[blocks.size()][];
        List<Tensor> outputs = new ArrayList<>(blocks.size());
        Tensor logdets = null;
        try (GradMode g = GradMode.off()) {
            model.checkImages(images);
            Tensor x = model.patchify(images);
            for (int i = 0; i < blocks.size(); i++) {
                FlowBlock block = blocks.get(i);
                try (NativeScope scope = NativeScope.open()) {
                    blockInputs[i] = x;
                    Tensor xp = block.permute(x, 1);
                    Tensor[] saved = new Tensor[block.layers.length + 1];
                    Tensor h = scope.keep(block.stem(xp, block.classRows(y)));
                    saved[0] = h;
                    for (int l = 0; l < block.layers.length; l++) {
                        h = scope.keep(block.layers[l].forward(h, null));
                        saved[l + 1] = h;
                    }
                    layerInputs[i] = saved;
                    FlowBlock.BlockOutput out = block.output(xp, block.head(h));
                    x = scope.keep(out.z());
                    Tensor logdet = scope.keep(out.logdet());
                    logdets = logdets == null ? logdet : scope.keep(logdets.add(logdet));
                }
                outputs.add(x);
            }
        }
        return new CheckpointedForward(
                model,
                y,
                Autocast.enabled(),
                blockInputs,
                layerInputs,
                new TarFlow.ForwardResult(outputs.get(outputs.size() - 1), List.copyOf(outputs), logdets));
    }

    /** The forward pass's result, without autograd history. */
    public TarFlow.ForwardResult result() {
        return result;
    }

    /**
     * Back-propagates {@code loss(result)} into the parameters' gradients (accumulating, as
     * {@code Tensor.backward} does), recomputing each segment of the forward pass.
     *
     * @param loss the scalar loss of a forward result (e.g. {@link TarFlow#loss})
     * @return the gradient of the loss with respect to the patch tokens of the images (B, T, D)
     */
    public Tensor backward(Function<TarFlow.ForwardResult, Tensor> loss) {
        return backward(loss, true);
    }

    /**
     * The gradient of {@code loss(result)} with respect to the patch tokens of the images
     * (B, T, D), leaving the parameters' gradients untouched (as {@code torch.autograd.grad}).
     */
    public Tensor inputGradient(Function<TarFlow.ForwardResult, Tensor> loss) {
        return backward(loss, false);
    }

    private Tensor backward(Function<TarFlow.ForwardResult, Tensor> loss, boolean parameters) {
        Tensor z = result.z().detach().requires_grad_(true);
        Tensor logdets = result.logdets().detach().requires_grad_(true);
        loss.apply(new TarFlow.ForwardResult(z, List.of(), logdets)).backward();
        Tensor gradZ = gradOf(z);
        Tensor gradLogdet = gradOf(logdets);
        List<FlowBlock> blocks = model.blocks();
        for (int i = blocks.size() - 1; i >= 0; i--) {
            try (NativeScope scope = NativeScope.open()) {
                gradZ = scope.keep(blockBackward(blocks.get(i), i, gradZ, gradLogdet, parameters));
            }
        }
        return gradZ;
    }

    /** Back-propagates block i's output gradients; returns the gradient of its input. */
    private Tensor blockBackward(FlowBlock block, int i, Tensor gradZ, Tensor gradLogdet, boolean parameters) {
        Tensor[] saved = layerInputs[i];
        Tensor x = blockInputs[i].detach().requires_grad_(true);
        Tensor last = saved[saved.length - 1].detach().requires_grad_(true);
        FlowBlock.BlockOutput out;
        try (Autocast a = recomputation()) {
            out = block.output(block.permute(x, 1), block.head(last));
        }
        TensorVector outputs = new TensorVector(out.z());
        TensorVector grads = new TensorVector(gradZ);
        if (out.logdet().requires_grad()) { // a volume-preserving block's log-determinant is 0
            outputs.push_back(out.logdet());
            grads.push_back(gradLogdet.to(out.logdet().scalar_type()));
        }
        backprop(outputs, grads, parameters, x, last);
        Tensor grad = gradOf(last);
        for (int l = block.layers.length - 1; l >= 0; l--) {
            try (NativeScope scope = NativeScope.open()) {
                Tensor in = saved[l].detach().requires_grad_(true);
                Tensor h;
                try (Autocast a = recomputation()) {
                    h = block.layers[l].forward(in, null);
                }
                backprop(new TensorVector(h), new TensorVector(grad.to(h.scalar_type())), parameters, in);
                grad = scope.keep(gradOf(in));
            }
        }
        Tensor h0;
        try (Autocast a = recomputation()) {
            h0 = block.stem(block.permute(x, 1), block.classRows(y));
        }
        backprop(new TensorVector(h0), new TensorVector(grad.to(h0.scalar_type())), parameters, x);
        return gradOf(x);
    }

    /**
     * Back-propagates {@code grads} from {@code outputs} into every leaf (parameters included) or,
     * without {@code parameters}, into {@code leaves} alone.
     */
    private static void backprop(TensorVector outputs, TensorVector grads, boolean parameters, Tensor... leaves) {
        torch.backward(
                outputs, grads, new BoolOptional(), false, parameters ? new TensorVector() : new TensorVector(leaves));
    }

    /**
     * The gradient accumulated in a leaf, as a tensor of its own: {@code grad()} is a reference
     * into the leaf's autograd data, freed with the leaf.
     */
    private static Tensor gradOf(Tensor leaf) {
        return leaf.grad().detach();
    }

    /** The autocast setting the forward pass ran under, for recomputing one of its segments. */
    private Autocast recomputation() {
        return autocast ? Autocast.bfloat16() : Autocast.unchanged();
    }
}
