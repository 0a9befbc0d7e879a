package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.mean;
import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.StateDicts;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * TarFlow: a stack of {@link FlowBlock}s over the patch sequence of an image, with a Gaussian
 * prior. {@code forward} maps images to latents with the exact log-determinant; {@code reverse}
 * maps noise back to images.
 *
 * <p>Parameters and buffers use the reference implementation's names
 * ({@code blocks.0.attn_blocks.1.attention.qkv.weight}, {@code var}, ...), so a PyTorch state
 * dict loads unchanged through {@link #loadState}.
 */
public final class TarFlow {
    /** EMA rate of the learned prior variance of volume-preserving models. */
    public static final double VAR_LR = 0.1;

    private final TarFlowConfig config;
    private final Device device;
    private final ScalarType dtype;
    private final FlowBlock[] blocks;
    private final Tensor var;
    private final Map<String, Tensor> parameters;
    private final Map<String, Tensor> buffers;

    /**
     * A freshly initialised model on {@code device} computing in {@code dtype} (float32 normally;
     * float64 for checks against the reference's float64 numbers). Random as the reference
     * initialises it, from libtorch's default generator: call {@code Runtime.seed} first for a
     * repeatable model.
     */
    public TarFlow(TarFlowConfig config, Device device, ScalarType dtype) {
        this(config, device, dtype, true);
    }

    /**
     * A model whose random weights are left unset (memory allocated, not drawn), for loading a
     * state dict straight after: at the paper's sizes drawing them costs seconds. The fixed
     * buffers ({@code attn_mask}, {@code var}) are made as usual.
     */
    public static TarFlow forLoading(TarFlowConfig config, Device device, ScalarType dtype) {
        return new TarFlow(config, device, dtype, false);
    }

    private TarFlow(TarFlowConfig config, Device device, ScalarType dtype, boolean drawn) {
        if (dtype != ScalarType.Float && dtype != ScalarType.Double) {
            throw new IllegalArgumentException("model dtype must be float32 or float64, got " + dtype);
        }
        this.config = config;
        this.device = device;
        this.dtype = dtype;
        Map<String, Tensor> p = new LinkedHashMap<>();
        Map<String, Tensor> bufs = new LinkedHashMap<>();
        // Temporaries of the initialisers are freed as the model is built, not at the next GC.
        try (NativeScope scope = NativeScope.open()) {
            Init init = new Init(device, dtype, drawn);
            this.blocks = new FlowBlock[config.numBlocks()];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = new FlowBlock(init, config, i);
            }
            this.var = init.ones(config.numTokens(), config.tokenDim());
            for (int i = 0; i < blocks.length; i++) {
                blocks[i].collect("blocks." + i + ".", p);
                bufs.put("blocks." + i + ".attn_mask", blocks[i].attnMask);
            }
            bufs.put("var", var);
            for (Tensor t : p.values()) {
                t.requires_grad_(true);
            }
            // The model owns its tensors beyond this scope and any other open while it is built.
            p.values().forEach(Tensor::retainReference);
            bufs.values().forEach(Tensor::retainReference);
        }
        this.parameters = Collections.unmodifiableMap(p);
        this.buffers = Collections.unmodifiableMap(bufs);
    }

    /** A freshly initialised model on the CPU. */
    public TarFlow(TarFlowConfig config) {
        this(config, new Device("cpu"), ScalarType.Float);
    }

    /** The architecture. */
    public TarFlowConfig config() {
        return config;
    }

    /** The device holding the parameters. */
    public Device device() {
        return device;
    }

    /** The floating-point type the model computes in. */
    public ScalarType dtype() {
        return dtype;
    }

    /** The model's dtype on the model's device, for tensors that meet the model. */
    public TensorOptions options() {
        return new TensorOptions(dtype).device(new DeviceOptional(device));
    }

    /** {@code t} as a tensor of the model's dtype on its device (itself when it already is). */
    public Tensor place(Tensor t) {
        return t.to(device, dtype);
    }

    /** The flow blocks, in forward order. */
    public List<FlowBlock> blocks() {
        return List.of(blocks);
    }

    /** Trainable parameters by reference name, in a fixed order. */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    /** Buffers by reference name: {@code var} and each block's {@code attn_mask}. */
    public Map<String, Tensor> buffers() {
        return buffers;
    }

    /** The learned prior variance (T, D); all ones for NVP models. */
    public Tensor priorVariance() {
        return var;
    }

    /** Parameters and buffers together (the reference's {@code state_dict()}). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> all = new LinkedHashMap<>(parameters);
        all.putAll(buffers);
        return all;
    }

    /**
     * Copies a state dict into this model. Every parameter must be present with its shape;
     * {@code attn_mask} buffers may be absent (they are fixed) and {@code var} may be absent for
     * NVP models (all ones). Names not in the model are refused.
     *
     * @throws IllegalArgumentException naming every missing, unexpected or mis-shaped tensor
     */
    public void loadState(Map<String, Tensor> state) {
        checkState(StateDicts.shapes(state));
        Map<String, Tensor> all = state();
        try (GradMode g = GradMode.off()) {
            for (var e : all.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src != null) {
                    e.getValue().copy_(src);
                }
            }
        }
    }

    /**
     * Checks the names and shapes of a state dict against this model, as {@link #loadState} does
     * before copying: for loaders that copy tensor by tensor from a file.
     *
     * @throws IllegalArgumentException naming every missing, unexpected or mis-shaped tensor
     */
    public void checkState(Map<String, long[]> shapes) {
        List<String> problems = StateDicts.problems(
                StateDicts.shapes(state()),
                shapes,
                name -> name.endsWith("attn_mask") || (name.equals("var") && config.nvp()),
                name -> false);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(
                    "state does not fit " + config.describe() + ": " + StateDicts.summary(problems, 20));
        }
    }

    /** Images (B, C, H, W) to patch tokens (B, T, D), in the order of {@code torch.nn.functional.unfold}. */
    public Tensor patchify(Tensor images) {
        long b = images.size(0);
        int c = config.inChannels();
        int p = config.patchSize();
        int side = config.imageSize() / p;
        return images.reshape(b, c, side, p, side, p)
                .permute(0, 2, 4, 1, 3, 5)
                .reshape(b, (long) side * side, (long) c * p * p);
    }

    /** Patch tokens (B, T, D) back to images (B, C, H, W), the inverse of {@link #patchify}. */
    public Tensor unpatchify(Tensor tokens) {
        long b = tokens.size(0);
        int c = config.inChannels();
        int p = config.patchSize();
        int side = config.imageSize() / p;
        return tokens.reshape(b, side, side, c, p, p)
                .permute(0, 3, 1, 4, 2, 5)
                .reshape(b, c, config.imageSize(), config.imageSize());
    }

    /**
     * Images (B, C, H, W) in [-1, 1] to latents.
     *
     * @param y labels (B) for a conditional model (-1 = dropped label: mean class embedding), or
     *     null for the mean class embedding / an unconditional model
     */
    public ForwardResult forward(Tensor images, Tensor y) {
        checkImages(images);
        Tensor x = patchify(images);
        List<Tensor> outputs = new ArrayList<>(blocks.length);
        Tensor logdets = null;
        for (FlowBlock block : blocks) {
            FlowBlock.BlockOutput out = block.forward(x, y);
            x = out.z();
            logdets = logdets == null ? out.logdet() : logdets.add(out.logdet());
            outputs.add(x);
        }
        return new ForwardResult(x, List.copyOf(outputs), logdets);
    }

    /** The training loss {@code 0.5 * mean(z^2) - mean(logdets)} (nats per dimension, up to constants). */
    public static Tensor loss(ForwardResult r) {
        return r.z().pow(s(2)).mean().mul(s(0.5)).sub(r.logdets().mean());
    }

    /**
     * Moves the prior variance towards {@code mean(z^2)} over the batch (VP models' EMA update):
     * {@code updatePriorFrom(priorStatistic(z))}.
     */
    public void updatePrior(Tensor z) {
        updatePriorFrom(priorStatistic(z));
    }

    /**
     * The statistic the prior variance moves towards: {@code mean(z^2)} over the batch, (T, D),
     * without gradient. Data-parallel training averages it over the ranks before
     * {@link #updatePriorFrom}.
     */
    public static Tensor priorStatistic(Tensor z) {
        try (GradMode g = GradMode.off()) {
            return mean(z.detach().pow(s(2)), 0);
        }
    }

    /**
     * Moves the prior variance towards {@code meanZ2} (T, D), the batch mean of {@code z^2}
     * (for data-parallel training: averaged over all ranks), by the EMA rate {@link #VAR_LR}.
     */
    public void updatePriorFrom(Tensor meanZ2) {
        try (GradMode g = GradMode.off()) {
            var.lerp_(meanZ2, s(VAR_LR));
        }
    }

    /**
     * Noise (B, T, D) to images (B, C, H, W) by inverting every block token by token.
     *
     * @param y labels (B) for a conditional model, or null for the mean class embedding
     */
    public Tensor reverse(Tensor noise, Tensor y, Guidance guidance) {
        return reverse(noise, sequential(noise, y, guidance), null);
    }

    /**
     * Like {@link #reverse}, returning the sequence of images: the unpatchified noise, then the
     * image after undoing each block (the last is the sample).
     */
    public List<Tensor> reverseSequence(Tensor noise, Tensor y, Guidance guidance) {
        List<Tensor> seq = new ArrayList<>(blocks.length + 1);
        reverse(noise, sequential(noise, y, guidance), seq::add);
        return seq;
    }

    /**
     * Noise (B, T, D) to images (B, C, H, W): scales the noise by the prior's standard deviation
     * and undoes the blocks from last to first with {@code inverter}, without gradient.
     *
     * @param stages if not null, receives the unpatchified noise and the image after each block
     */
    public Tensor reverse(Tensor noise, BlockInverter inverter, Consumer<Tensor> stages) {
        checkTokens(noise);
        try (GradMode g = GradMode.off()) {
            if (stages != null) {
                stages.accept(unpatchify(noise));
            }
            Tensor x = noise.mul(var.sqrt());
            for (int i = blocks.length - 1; i >= 0; i--) {
                x = inverter.invert(i, blocks[i], x);
                if (stages != null) {
                    stages.accept(unpatchify(x));
                }
            }
            return unpatchify(x);
        }
    }

    /** The sequential decoder with one KV cache for the batch (both branches when guided). */
    private BlockInverter sequential(Tensor noise, Tensor y, Guidance guidance) {
        KvCache cache = KvCache.forModel(this, guidance.active() ? 2 * noise.size(0) : noise.size(0));
        return (i, block, x) -> block.reverse(x, y, guidance, cache);
    }

    void checkImages(Tensor images) {
        long[] s = Tensors.shape(images);
        int c = config.inChannels();
        int h = config.imageSize();
        if (s.length != 4 || s[1] != c || s[2] != h || s[3] != h) {
            throw new IllegalArgumentException("images have shape " + Arrays.toString(s) + ", the model expects (B, "
                    + c + ", " + h + ", " + h + ")");
        }
    }

    private void checkTokens(Tensor noise) {
        long[] s = Tensors.shape(noise);
        if (s.length != 3 || s[1] != config.numTokens() || s[2] != config.tokenDim()) {
            throw new IllegalArgumentException("noise has shape " + Arrays.toString(s) + ", the model expects (B, "
                    + config.numTokens() + ", " + config.tokenDim() + ")");
        }
    }

    /**
     * Result of {@link #forward}.
     *
     * @param z the latent (B, T, D)
     * @param outputs the sequence after each block (the last equals z)
     * @param logdets per-image log-determinant (B), mean over dimensions, summed over blocks
     */
    public record ForwardResult(Tensor z, List<Tensor> outputs, Tensor logdets) {}
}
