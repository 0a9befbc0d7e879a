package io.tarflow4j.cli;

import io.tarflow4j.data.ImageStore;
import io.tarflow4j.data.StoreManifest;
import io.tarflow4j.data.StorePreparer;
import io.tarflow4j.data.StoreWriter;
import io.tarflow4j.evaluation.ProgressBar;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tarflow prepare SRC... --out DIR}: writes a prepared image store for any --data. */
@Command(
        name = "prepare",
        mixinStandardHelpOptions = true,
        description = {
            "Prepares an image store: 8-bit pixels in files of at most 1 GiB, labels, class names and",
            "a manifest (written last: an interrupted prepare leaves no store that opens; rerunning starts",
            "over). Every --data takes the store's folder and reads it image by image, so datasets of any",
            "size train with memory that does not grow with them.",
            "Sources: a folder of images (class sub-folders; decoded on every core; unreadable files are",
            "skipped and listed), IDX image files (labels from the -labels-idx1-ubyte file beside them), or",
            "NumPy .npy / .npz arrays of uint8 images in (N,H,W,C), (N,C,H,W), (N,H,W) or flat (N,C*H*W)",
            "layout, flat rows in CHW order; an .npz holds them as 'data' and its labels as 'labels'.",
            "Several array files (e.g. the ten train_data_batch_*.npz of downsampled ImageNet) are joined.",
            "Labels become classes label - base, named by the source's label value. With --label-base",
            "auto the base is 1 when the labels run up to exactly 1000 and none is 0 (downsampled",
            "ImageNet numbers its classes 1..1000: label 1 becomes class 0), else 0.",
            "  tarflow prepare --verify DIR   re-reads a store and checks every file's checksum."
        })
final class PrepareCommand implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "SRC", description = "a folder of images, or .npy, .npz or IDX files")
    List<Path> sources;

    @Option(names = "--out", paramLabel = "DIR", description = "the store folder (new, empty, or an unfinished store)")
    Path out;

    @Option(
            names = "--image-size",
            paramLabel = "S",
            defaultValue = "0",
            description = "square size: shorter side resized to S, centre crop (default: the source's)")
    int imageSize;

    @Option(names = "--channels", paramLabel = "C", defaultValue = "0", description = "1 or 3 (default: the source's)")
    int channels;

    @Option(
            names = "--layout",
            paramLabel = "L",
            defaultValue = "auto",
            description = "array layout: auto, nhwc, nchw or flat (default ${DEFAULT-VALUE}: from the shape)")
    String layout;

    @Option(
            names = "--labels",
            paramLabel = "FILE",
            description = "labels (.npy or IDX) for a single .npy or IDX images file")
    Path labels;

    @Option(
            names = "--label-base",
            paramLabel = "B",
            defaultValue = "auto",
            description = "the source's first label: 0, 1 or auto (default ${DEFAULT-VALUE})")
    String labelBase;

    @Option(names = "--threads", paramLabel = "N", description = "image decoding threads (default: all cores)")
    Integer threads;

    @Option(names = "--overwrite", description = "replace a finished store in --out")
    boolean overwrite;

    @Option(names = "--verify", description = "check the store SRC: every file's checksum (writes nothing)")
    boolean verify;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        int cores = java.lang.Runtime.getRuntime().availableProcessors();
        PrintWriter stdout = cl.getOut();
        PrintWriter stderr = cl.getErr();
        if (verify) {
            if (sources.size() != 1 || out != null) {
                throw new CommandLine.ParameterException(cl, "--verify takes one store folder and no --out");
            }
            long t0 = System.nanoTime();
            try (ImageStore store = ImageStore.open(sources.getFirst())) {
                store.verify(threads == null ? cores : threads);
                stdout.printf(
                        Locale.ROOT,
                        "%s: all %d files match their checksums (%s), %.1f s%n",
                        store.dir(),
                        store.manifest().pixelFiles().size() + 1,
                        store.manifest().describe(),
                        (System.nanoTime() - t0) / 1e9);
            }
            return 0;
        }
        if (out == null) {
            throw new CommandLine.ParameterException(cl, "--out DIR is required");
        }
        StorePreparer.Options options;
        try {
            options = new StorePreparer.Options(
                    imageSize,
                    channels,
                    layout(cl),
                    labelBase(cl),
                    labels,
                    threads == null ? cores : threads,
                    StoreWriter.DEFAULT_FILE_BYTES,
                    overwrite);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(
                    cl, "--image-size must be >= 0, --channels 1 or 3, --threads >= 1: " + e.getMessage());
        }
        long t0 = System.nanoTime();
        Bar bar = new Bar(stderr);
        StoreManifest m;
        try {
            m = StorePreparer.prepare(sources, out, options, bar, stderr::println);
        } finally {
            bar.close();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        stdout.printf(
                Locale.ROOT,
                "store: %s (%s) in %.1f s, %.0f images/s%n",
                out,
                m.describe(),
                seconds,
                m.images() / seconds);
        if (!m.skipped().isEmpty()) {
            stdout.println("skipped " + m.skipped().size() + " unreadable file(s), listed in "
                    + out.resolve(StoreManifest.FILE));
        }
        return 0;
    }

    private StorePreparer.Layout layout(CommandLine cl) {
        try {
            return StorePreparer.Layout.valueOf(layout.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(
                    cl, "--layout must be auto, nhwc, nchw or flat, got '" + layout + "'");
        }
    }

    private int labelBase(CommandLine cl) {
        return switch (labelBase.strip().toLowerCase(Locale.ROOT)) {
            case "auto" -> -1;
            case "0" -> 0;
            case "1" -> 1;
            default ->
                throw new CommandLine.ParameterException(
                        cl, "--label-base must be 0, 1 or auto, got '" + labelBase + "'");
        };
    }

    /** The progress bar, started once the total is known. */
    private static final class Bar implements StorePreparer.Progress, AutoCloseable {
        private final PrintWriter err;
        private ProgressBar bar;

        Bar(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void start(long total) {
            bar = new ProgressBar(err, total, "images");
        }

        @Override
        public void done(long done) {
            bar.accept(done);
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }
}
