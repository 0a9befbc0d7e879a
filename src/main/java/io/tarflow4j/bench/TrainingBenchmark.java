package io.tarflow4j.bench;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.distributed.Distributed;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.Runtime;
import io.tarflow4j.training.LearningRateSchedule;
import io.tarflow4j.training.Trainer;
import io.tarflow4j.training.TrainingOptions;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Times the steps of {@code tarflow train --steps N}: the same model ({@link TrainingOptions#modelConfig}),
 * seed, batches ({@link Trainer#batches}), schedule over N steps and {@link Trainer#step}, in one
 * process or as one rank of a data-parallel group. The first {@code warmup} steps are not timed.
 */
public final class TrainingBenchmark {
    private TrainingBenchmark() {}

    /**
     * What the timed steps took.
     *
     * @param config the model trained
     * @param stepMillis each timed step's wall time, batch to update
     * @param reduceMillis each timed step's gradient all-reduce (0 in one process)
     * @param lastLoss the loss of the last step (the mean over the ranks)
     */
    public record Timings(TarFlowConfig config, List<Double> stepMillis, List<Double> reduceMillis, double lastLoss) {
        /** Copies the lists. */
        public Timings {
            stepMillis = List.copyOf(stepMillis);
            reduceMillis = List.copyOf(reduceMillis);
        }
    }

    /**
     * Trains {@code options.steps()} steps on {@code data} (this rank's part in {@code group}) and
     * times all but the first {@code warmup}.
     *
     * @throws IllegalArgumentException when the options are not a run of {@code warmup} + at least
     *     one steps, or a conditional model gets unlabelled data
     */
    public static Timings run(TrainingOptions options, ImageDataset data, Distributed group, int warmup) {
        if (options.timeBudgeted() || warmup < 0 || options.steps() <= warmup) {
            throw new IllegalArgumentException("a training benchmark runs a step count of more than its " + warmup
                    + " warm-up steps, got " + (options.timeBudgeted() ? "a time budget" : options.steps() + " steps"));
        }
        if (options.conditional() && !data.hasLabels()) {
            throw new IllegalArgumentException("--data " + options.data() + " has no labels: a class-conditional model"
                    + " needs labelled data (pass --unconditional)");
        }
        Runtime.setThreads(options.threads());
        TarFlowConfig config = options.modelConfig(data);
        Runtime.seed(options.seed());
        TarFlow model = new TarFlow(config, Runtime.device(options.device()), ScalarType.Float);
        LearningRateSchedule schedule = new LearningRateSchedule(options.lr(), options.warmupSteps(), options.steps());
        List<Double> times = new ArrayList<>();
        List<Double> reduces = new ArrayList<>();
        double lastLoss = Double.NaN;
        try (Trainer trainer = new Trainer(model, options, group);
                BatchLoader loader = Trainer.batches(options, data, group, 0)) {
            trainer.synchronize();
            for (long step = 1; step <= options.steps(); step++) {
                Batch batch = loader.next();
                long t0 = System.nanoTime();
                Trainer.StepResult r = trainer.step(step, batch, schedule);
                if (step > warmup) {
                    times.add((System.nanoTime() - t0) / 1e6);
                    reduces.add(r.gradientReduceMillis());
                }
                if (!r.skipped()) {
                    lastLoss = r.loss();
                }
            }
        }
        return new Timings(config, times, reduces, lastLoss);
    }
}
