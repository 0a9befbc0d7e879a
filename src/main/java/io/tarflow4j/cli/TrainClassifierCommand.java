package io.tarflow4j.cli;

import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.evaluation.ClassifierTraining;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow train-classifier --out models/fmnist-classifier.safetensors}. */
@Command(
        name = "train-classifier",
        mixinStandardHelpOptions = true,
        description = {
            "Trains the small Fashion-MNIST CNN whose features give FD-FMNIST and whose predictions",
            "judge class-conditional samples (eval samples). About two minutes on two CPU cores;",
            "the bundled models/fmnist-classifier.safetensors was made with the defaults."
        })
final class TrainClassifierCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "FILE",
            description = "where to write the weights (safetensors)")
    Path out;

    @Option(
            names = "--epochs",
            defaultValue = "4",
            description = "passes over the training set (default ${DEFAULT-VALUE})")
    int epochs;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(128);

    @Option(
            names = "--lr",
            defaultValue = "2e-3",
            description = "peak learning rate, cosine to 0 (default ${DEFAULT-VALUE})")
    double lr;

    @Option(
            names = "--seed",
            defaultValue = "0",
            description = "initialisation and batch-order seed (default ${DEFAULT-VALUE})")
    long seed;

    @CommandLine.Mixin
    ThreadsOption threads;

    @Override
    public Integer call() throws Exception {
        threads.apply();
        var settings = new ClassifierTraining.Settings(epochs, batch.size(), lr, seed);
        ImageDataset train = Datasets.open(Datasets.FASHION_MNIST, DataOptions.defaults());
        ImageDataset test = Datasets.open(Datasets.FASHION_MNIST_TEST, DataOptions.defaults());
        ClassifierTraining.Result r = ClassifierTraining.train(
                train, test, settings, spec.commandLine().getErr()::println);
        r.classifier()
                .save(
                        out,
                        Map.of(
                                "test_accuracy",
                                String.format("%.4f", r.testAccuracy()),
                                "recipe",
                                "epochs=" + epochs + " batch=" + batch.size() + " lr=" + lr + " seed=" + seed
                                        + " AdamW(0.9,0.999) wd=1e-4 cosine flips"));
        spec.commandLine()
                .getOut()
                .printf(
                        "test accuracy %.4f after %d steps in %.1f s; wrote %s%n",
                        r.testAccuracy(), r.steps(), r.seconds(), out);
        return 0;
    }
}
