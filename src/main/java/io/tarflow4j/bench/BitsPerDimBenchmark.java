package io.tarflow4j.bench;

import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.Prior;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.Autocast;
import io.tarflow4j.tensor.Precision;
import java.util.ArrayList;
import java.util.List;

/**
 * Times {@code tarflow eval bpd}: one {@link DatasetBpd#evaluate} over the data in batches (seed 0, one draw, the unconditional likelihood under the learned prior, the command's
 * defaults), each batch timed from the end of the one before; the first {@code warmup} are not
 * counted.
 */
public final class BitsPerDimBenchmark {
    private BitsPerDimBenchmark() {}

    /**
     * What the timed batches took and what the evaluation gave.
     *
     * @param batchMillis each timed batch's wall time
     * @param result the whole evaluation's bits/dim
     */
    public record Timings(List<Double> batchMillis, DatasetBpd.Result result) {
        /** Copies the list. */
        public Timings {
            batchMillis = List.copyOf(batchMillis);
        }
    }

    /**
     * Evaluates {@code model} on all of {@code data}, timing the batches after the first {@code warmup}.
     *
     * @param rowsPerPass images per forward pass within a batch (0: automatic)
     */
    public static Timings run(
            TarFlow model, ImageDataset data, int batch, int warmup, Precision precision, int rowsPerPass) {
        if (batch < 1 || warmup < 0 || (long) warmup * batch >= data.size()) {
            throw new IllegalArgumentException("need batch >= 1, warmup >= 0 and more than warmup * batch images, got"
                    + " batch " + batch + ", warmup " + warmup + " and " + data.size() + " images");
        }
        List<Double> times = new ArrayList<>();
        long[] last = {System.nanoTime()};
        DatasetBpd.Result r;
        try (Autocast a = precision.autocast()) {
            DatasetBpd.Options options = DatasetBpd.Options.of(batch, Dequantizer.uniform(0))
                    .withLikelihood(Likelihood.UNCONDITIONAL)
                    .withPrior(Prior.LEARNED)
                    .withRowsPerPass(rowsPerPass)
                    .withProgress(done -> {
                        long now = System.nanoTime();
                        if (done > (long) warmup * batch) {
                            times.add((now - last[0]) / 1e6);
                        }
                        last[0] = now;
                    });
            r = DatasetBpd.evaluate(model, data, options);
        }
        return new Timings(times, r);
    }
}
