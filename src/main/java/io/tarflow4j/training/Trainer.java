package io.tarflow4j.training;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.distributed.DistributedOptions;
import io.tarflow4j.model.CheckpointedForward;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.StateDicts;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * One model's optimisation: AdamW with the scheduled learning rate, optional gradient clipping,
 * the prior update of volume-preserving models and the optional weight average. Each
 * {@link #step} runs inside its own {@link NativeScope}. With activation checkpointing the
 * forward pass keeps only each layer's input and the backward pass recomputes the layers
 * ({@link CheckpointedForward}): the same gradients in less memory.
 *
 * <p>Data-parallel: with a {@link Distributed} group of several ranks, each rank's trainer gets
 * its rank's equal shard of every global batch; the loss (and whether it is finite) is averaged
 * over the ranks before backward, the gradients after it (before the norm, clipping and AdamW),
 * and the VP prior statistic before the prior update, so every replica makes the same update and
 * all ranks take the same decision on a non-finite step. The noise and label dropout of each
 * image depend only on the seed, the step and its position in the global batch, so N ranks
 * train exactly as one process on the global batch would (up to float rounding).
 */
public final class Trainer implements AutoCloseable {
    private final TarFlow model;
    private final TrainingOptions options;
    private final AdamW optimizer;
    private final WeightAverage ema;
    private final List<Tensor> parameters;
    private final Distributed group;
    /** Test hook: replaces the clean batch (B, C, H, W) of a step before noise is added. */
    BiFunction<Long, Tensor, Tensor> inputHook;

    /**
     * A trainer for {@code model} with the optimizer settings of {@code options}, in one process.
     */
    public Trainer(TarFlow model, TrainingOptions options) {
        this(model, options, Distributed.single());
    }

    /**
     * A trainer for this rank's replica of {@code model} in {@code group} (not closed by the
     * trainer). Call {@link #synchronize()} once the weights are built or loaded.
     */
    public Trainer(TarFlow model, TrainingOptions options, Distributed group) {
        this.group = group;
        this.model = model;
        this.options = options;
        this.parameters = new ArrayList<>(model.parameters().values());
        this.optimizer =
                new AdamW(parameters, options.lr(), options.beta1(), options.beta2(), 1e-8, options.weightDecay());
        this.ema = options.emaDecay() > 0 ? new WeightAverage(model, options.emaDecay()) : null;
    }

    /**
     * What one step did.
     *
     * @param step the optimizer step (1-based)
     * @param loss the training loss before the update
     * @param gradNorm the gradient's global L2 norm before clipping
     * @param lr the learning rate used
     * @param skipped true when the step was skipped for a non-finite loss or gradient
     * @param gradientReduceMillis time spent averaging the gradients over the ranks (0 in one process)
     */
    public record StepResult(
            long step, double loss, double gradNorm, double lr, boolean skipped, double gradientReduceMillis) {}

    /**
     * The batches this rank trains on from step {@code startStep + 1}: its shard of every global
     * batch of {@code options.batch()} images, in the seeded order, with the options' flips, the
     * last incomplete batch of an epoch dropped.
     */
    public static BatchLoader batches(TrainingOptions options, ImageDataset data, Distributed group, long startStep) {
        return BatchLoader.builder(data)
                .batchSize(DistributedOptions.perRankBatch(options.batch(), group.worldSize()))
                .seed(options.seed())
                .flip(options.flip())
                .dropLast(true)
                .shard(group.rank(), group.worldSize())
                .startStep(startStep)
                .build();
    }

    /**
     * Overwrites the weights, the VP prior variance and the weight average on every rank with
     * rank 0's (a no-op in one process), so that all replicas start identical.
     */
    public void synchronize() {
        List<Tensor> state = new ArrayList<>(parameters);
        state.add(model.priorVariance());
        if (ema != null) {
            state.addAll(ema.parameters().values());
        }
        group.broadcast(state, 0);
    }

    /**
     * Trains on one batch: noise and label dropout from {@code (seed, step)}, forward, loss,
     * backward, optional clipping, AdamW with {@code schedule.lr(step)}, prior and EMA updates.
     * In a group of W ranks, {@code batch} is this rank's shard (the same size on every rank) and
     * the result's loss is the mean over the ranks.
     *
     * @throws NonFiniteLossException when the loss or gradient is NaN or infinite and the options
     *     do not skip such steps; nothing was updated
     */
    public StepResult step(long step, Batch batch, LearningRateSchedule schedule) {
        var c = model.config();
        try (NativeScope scope = NativeScope.open()) {
            long seed = Augmentation.stepSeed(options.seed(), step);
            int offset = group.rank() * batch.n();
            long globalBatch = (long) batch.n() * group.worldSize();
            Tensor clean = Tensors.fromFloats(batch.images(), batch.n(), c.inChannels(), c.imageSize(), c.imageSize());
            if (inputHook != null) {
                clean = inputHook.apply(step, clean);
            }
            Tensor x = model.place(Augmentation.noisy(clean, options.noise(), seed, offset, globalBatch));
            Tensor y = null;
            if (c.conditional()) {
                int[] labels = Augmentation.dropLabels(
                        batch.labels(), options.dropLabel(), new SplittableRandom(seed), offset);
                y = Tensors.labels(labels).to(model.device(), ScalarType.Long);
            }
            optimizer.zeroGrad();
            TarFlow.ForwardResult r;
            CheckpointedForward recomputed = null;
            try (Autocast a = options.precision().autocast()) { // bf16: products in bf16, affine in float32
                if (options.activationCheckpointing()) {
                    recomputed = CheckpointedForward.run(model, x, y);
                    r = recomputed.result();
                } else {
                    r = model.forward(x, y);
                }
            }
            Tensor loss = TarFlow.loss(r);
            double lossValue = Tensors.item(loss);
            double lr = schedule.lr(step);
            if (group.worldSize() > 1) {
                // one collective for the logged loss and a common decision on a non-finite loss
                boolean finite = Double.isFinite(lossValue);
                // the loss is a float32 value: the cast is exact; the mean is taken in float64, on the
                // model's device (NCCL reduces only CUDA tensors)
                Tensor stats = group.allReduceMean(Tensors.fromFloats(
                                new float[] {finite ? (float) lossValue : 0f, finite ? 0f : 1f}, 2)
                        .to(model.device(), ScalarType.Double));
                double meanLoss = Tensors.item(stats.select(0, 0));
                double nonFiniteShare = Tensors.item(stats.select(0, 1));
                if (nonFiniteShare > 0) {
                    long ranks = Math.round(nonFiniteShare * group.worldSize());
                    return nonFinite(
                            step,
                            "loss is non-finite on " + ranks + " of " + group.worldSize() + " ranks (here: " + lossValue
                                    + ")",
                            Double.NaN,
                            Double.NaN,
                            lr);
                }
                lossValue = meanLoss;
            }
            if (!Double.isFinite(lossValue)) {
                return nonFinite(step, "loss is " + lossValue, lossValue, Double.NaN, lr);
            }
            if (recomputed != null) {
                recomputed.backward(TarFlow::loss);
            } else {
                loss.backward();
            }
            double reduceMillis = 0;
            if (group.worldSize() > 1) {
                long t0 = System.nanoTime();
                group.allReduceGradients(parameters);
                reduceMillis = (System.nanoTime() - t0) / 1e6;
            }
            double gradNorm = gradientNorm();
            if (!Double.isFinite(gradNorm)) {
                return nonFinite(step, "gradient norm is " + gradNorm, lossValue, gradNorm, lr);
            }
            if (options.gradClip() > 0 && gradNorm > options.gradClip()) {
                double factor = options.gradClip() / (gradNorm + 1e-6);
                try (GradMode g = GradMode.off()) {
                    for (Tensor p : parameters) {
                        Tensor grad = p.grad();
                        if (grad.defined()) {
                            grad.mul_(s(factor));
                        }
                    }
                }
            }
            optimizer.setLearningRate(lr);
            optimizer.step();
            if (!c.nvp()) {
                Tensor meanZ2 = TarFlow.priorStatistic(r.z());
                if (group.worldSize() > 1) {
                    meanZ2 = group.allReduceMean(meanZ2.contiguous());
                }
                model.updatePriorFrom(meanZ2);
            }
            if (ema != null) {
                ema.update();
            }
            return new StepResult(step, lossValue, gradNorm, lr, false, reduceMillis);
        }
    }

    /** The mean of {@code value} over the ranks (itself in one process); see {@link Distributed#allReduceMean(double)}. */
    public double meanOverRanks(double value) {
        return group.allReduceMean(value);
    }

    private StepResult nonFinite(long step, String what, double loss, double gradNorm, double lr) {
        optimizer.zeroGrad();
        if (options.skipNonFinite()) {
            return new StepResult(step, loss, gradNorm, lr, true, 0);
        }
        throw new NonFiniteLossException(
                step,
                "step " + step + ": " + what
                        + "; training stopped before the update (lower --lr, enable --grad-clip, or pass"
                        + " --skip-nonfinite to skip such steps)");
    }

    private double gradientNorm() {
        double sum = 0;
        try (GradMode g = GradMode.off()) {
            Tensor total = null;
            for (Tensor p : parameters) {
                Tensor grad = p.grad();
                if (grad.defined()) {
                    Tensor sq = grad.pow(s(2)).sum();
                    total = total == null ? sq : total.add(sq);
                }
            }
            if (total != null) {
                sum = Tensors.item(total.to(ScalarType.Double));
            }
        }
        return Math.sqrt(sum);
    }

    /** Whether every parameter, buffer and EMA weight is finite (checked before a checkpoint is written). */
    public boolean finite() {
        Map<String, Tensor> all = new LinkedHashMap<>(model.state());
        if (ema != null) {
            ema.parameters().forEach((k, v) -> all.put("ema." + k, v));
        }
        return StateDicts.firstNonFinite(all) == null;
    }

    /** The model being trained. */
    public TarFlow model() {
        return model;
    }

    /** The optimizer. */
    public AdamW optimizer() {
        return optimizer;
    }

    /** The weight average, or null when training keeps none. */
    public WeightAverage ema() {
        return ema;
    }

    /** The model to sample and evaluate with: the EMA weights when kept, else the trained model. */
    public TarFlow evaluationModel() {
        return ema == null ? model : ema.toModel();
    }

    /** Frees the optimizer. */
    @Override
    public void close() {
        optimizer.close();
    }
}
