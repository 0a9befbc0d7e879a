package io.tarflow4j.training;

import io.tarflow4j.model.TarFlowConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The memory one training process needs, estimated before the model is built: float32 weights,
 * their gradients, AdamW's two moments, the optional EMA copy, the activations autograd keeps
 * for the backward pass at this batch, and the runtime itself (JVM, libtorch, data loader).
 *
 * <p>Activations are counted in units of one (tokens x width) float32 tensor per image: a
 * Transformer layer keeps about {@value #TENSORS_PER_LAYER} of them for its backward pass (the
 * layer norms' inputs and outputs, q, k, v, the attention output, the MLP's hidden layer before
 * and after GELU, plus the backward pass's temporaries), calibrated against measured peak RSS
 * (BENCHMARKS.md, "paper sizes"). With activation checkpointing only each layer's input is kept,
 * plus one layer's graph while it is recomputed.
 *
 * @param weights bytes of the parameters
 * @param gradients bytes of their gradients
 * @param optimizer bytes of AdamW's moments
 * @param ema bytes of the weight average (0 without one)
 * @param activations bytes of the activations kept for the backward pass
 * @param runtime bytes of the process without the model
 * @param batch images per step in this process
 * @param checkpointing whether activation checkpointing is on
 */
public record MemoryEstimate(
        long weights,
        long gradients,
        long optimizer,
        long ema,
        long activations,
        long runtime,
        int batch,
        boolean checkpointing) {
    /** (tokens x width) float32 tensors per image a layer keeps for its backward pass (calibrated). */
    public static final double TENSORS_PER_LAYER = 20;
    /** Bytes of the runtime without a model: JVM heap in use, libtorch, the data loader (measured). */
    public static final long RUNTIME_BYTES = 700L << 20;

    private static final double GIB = 1024.0 * 1024 * 1024;

    /** The estimate for training {@code c} at {@code batch} images per process. */
    public static MemoryEstimate of(TarFlowConfig c, int batch, boolean ema, boolean checkpointing) {
        long weights = 4 * c.parameterCount();
        return new MemoryEstimate(
                weights,
                weights,
                2 * weights,
                ema ? weights : 0,
                activations(c, batch, checkpointing),
                RUNTIME_BYTES,
                batch,
                checkpointing);
    }

    /** Bytes of activations kept for the backward pass of {@code batch} images. */
    static long activations(TarFlowConfig c, int batch, boolean checkpointing) {
        double tensor = 4.0 * c.numTokens() * c.width(); // one (tokens x width) float32 tensor
        int layers = c.layersPerBlock().stream().mapToInt(Integer::intValue).sum();
        // every block also keeps its input and output tokens and the affine parameters (tokens x D)
        double blockTokens = 4.0 * c.numTokens() * c.tokenDim() * 4 * c.numBlocks();
        double perImage = checkpointing
                ? (layers + c.numBlocks()) * tensor + TENSORS_PER_LAYER * tensor + blockTokens
                : layers * TENSORS_PER_LAYER * tensor + blockTokens;
        return (long) (batch * perImage);
    }

    /** The total. */
    public long total() {
        return weights + gradients + optimizer + ema + activations + runtime;
    }

    /** The estimate the other setting of activation checkpointing gives. */
    public MemoryEstimate withCheckpointing(TarFlowConfig c, boolean on) {
        return new MemoryEstimate(weights, gradients, optimizer, ema, activations(c, batch, on), runtime, batch, on);
    }

    /** One line: the total and its parts, in GiB. */
    public String describe() {
        return String.format(
                Locale.ROOT,
                "%.1f GiB = weights %.1f + gradients %.1f + AdamW %.1f%s + activations %.1f"
                        + " (batch %d%s) + runtime %.1f",
                total() / GIB,
                weights / GIB,
                gradients / GIB,
                optimizer / GIB,
                ema > 0 ? String.format(Locale.ROOT, " + EMA %.1f", ema / GIB) : "",
                activations / GIB,
                batch,
                checkpointing ? ", activation checkpointing" : "",
                runtime / GIB);
    }

    /**
     * Whether {@code processes} such processes fit in the memory this machine has available (true
     * when that is unknown).
     */
    public boolean fits(int processes) {
        var available = AvailableMemory.bytes();
        return available.isEmpty() || processes * total() <= available.getAsLong();
    }

    /**
     * Refuses a run of {@code processes} such processes on one machine whose estimate exceeds the
     * memory the machine has available, naming the flags that lower it: the kernel would
     * otherwise kill the run at its first step. Does nothing when the available memory is unknown.
     *
     * @param o the run's options (for the flags it names)
     * @throws IllegalArgumentException naming {@code --batch}, the estimate and what fits
     */
    public void requireAvailable(TarFlowConfig config, TrainingOptions o, int processes) {
        if (fits(processes)) {
            return;
        }
        var available = AvailableMemory.bytes();
        List<String> instead = new ArrayList<>();
        if (!checkpointing) {
            instead.add("--activation-checkpointing needs about "
                    + gib(processes * withCheckpointing(config, true).total()));
        }
        if (batch > 1) {
            MemoryEstimate one = of(config, 1, ema > 0, true);
            instead.add("--batch " + (o.batch() / batch) + " --activation-checkpointing needs about "
                    + gib(processes * one.total()));
        }
        throw new IllegalArgumentException("--batch " + o.batch() + " of " + config.describe() + " needs about "
                + gib(processes * total())
                + (processes > 1 ? " (" + processes + " processes of " + describe() + ")" : " (" + describe() + ")")
                + ", more than the " + gib(available.getAsLong()) + " available on this machine"
                + (instead.isEmpty() ? "; train on a machine with more memory" : "; " + String.join("; ", instead)));
    }

    /** Bytes as GiB with one decimal. */
    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / GIB);
    }
}
