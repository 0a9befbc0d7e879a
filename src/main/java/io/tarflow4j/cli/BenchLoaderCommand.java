package io.tarflow4j.cli;

import io.tarflow4j.data.Batch;
import io.tarflow4j.data.BatchLoader;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.training.PeakRss;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tarflow bench loader}: how fast the training loader delivers shuffled batches from a
 * dataset (a prepared store is read image by image), with nothing consuming them.
 */
@Command(
        name = "loader",
        mixinStandardHelpOptions = true,
        description = {
            "Measures the training loader alone: shuffled, optionally flipped batches read from --data",
            "(a store made by tarflow prepare, or any dataset) as fast as its background thread assembles them.",
            "Prints images/s, MB/s of pixels and peak RSS. For a cold page cache, drop the store's files",
            "from the cache first (e.g. dd if=FILE iflag=nocache count=0 for each pixel file)."
        })
final class BenchLoaderCommand implements Callable<Integer> {
    private static final int WARMUP = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "D", description = "the dataset")
    String data;

    @Option(names = "--batch", defaultValue = "64", description = "images per batch (default ${DEFAULT-VALUE})")
    int batch;

    @Option(
            names = "--batches",
            defaultValue = "100",
            description = "batches timed after 3 untimed (default ${DEFAULT-VALUE})")
    int batches;

    @Option(names = "--seed", defaultValue = "0", description = "shuffle seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(
            names = "--flip",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "random horizontal flips, as training on the paper's presets (default on)")
    boolean flip;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        if (batch < 1 || batches < 1) {
            throw new CommandLine.ParameterException(cl, "--batch and --batches must be >= 1");
        }
        ImageDataset dataset;
        try {
            dataset = Datasets.open(data, DataOptions.defaults());
        } catch (IOException e) {
            throw new IOException("--data " + data + ": " + e.getMessage(), e);
        }
        long t0 = 0;
        long images = 0;
        try (BatchLoader loader = BatchLoader.builder(dataset)
                .batchSize(batch)
                .seed(seed)
                .flip(flip)
                .build()) {
            for (int k = 0; k < WARMUP; k++) {
                loader.next();
            }
            t0 = System.nanoTime();
            for (int k = 0; k < batches; k++) {
                Batch b = loader.next();
                images += b.n();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double rate = images / seconds;
        spec.commandLine()
                .getOut()
                .printf(
                        Locale.ROOT,
                        "loader: %d images of %dx%dx%d in %.2f s: %.0f images/s, %.1f MB/s of pixels,"
                                + " peak RSS %.0f MiB (%s, batch %d, %s)%n",
                        images,
                        dataset.channels(),
                        dataset.height(),
                        dataset.width(),
                        seconds,
                        rate,
                        rate * dataset.imageLength() / 1e6,
                        PeakRss.megabytes(),
                        data,
                        batch,
                        flip ? "flips" : "no flips");
        return 0;
    }
}
