package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.data.ImageFolderReader;
import io.tarflow4j.data.ImageStore;
import io.tarflow4j.data.ResizePolicy;
import io.tarflow4j.evaluation.AnomalyMethod;
import io.tarflow4j.evaluation.AnomalyReference;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.ImageScorer;
import io.tarflow4j.evaluation.Likelihood;
import io.tarflow4j.evaluation.Prior;
import io.tarflow4j.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tarflow score --model CKPT IMAGES...|DIR}: per-image bits/dim and anomaly scores. */
@Command(
        name = "score",
        mixinStandardHelpOptions = true,
        description = {
            "Scores images by exact likelihood: bits/dim per image (higher = less likely under the",
            "model) and anomaly scores (--method), and for class-conditional models the unconditional and",
            "marginal bits/dim, the bits/dim given each class and the posterior p(class|image) (uniform prior).",
            "Integer pixels are dequantised with seeded uniform noise derived from each image (--seed), as",
            "eval bpd, serve and eval ood do, so a score does not depend on the other images; or at the bin",
            "centres with --center. Images of another size or channel count are converted with a note on",
            "stderr, or refused with --refuse-mismatch. A folder is scored recursively, in sorted order; a",
            "store made by tarflow prepare image by image, each named STORE#index."
        })
final class ScoreCommand implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    @CommandLine.Mixin
    ModelOption model;

    @Parameters(
            arity = "1..*",
            paramLabel = "IMAGES",
            description = "image files, folders of images and/or prepared stores")
    List<Path> inputs;

    @Option(names = "--format", defaultValue = "csv", description = "csv or json (default ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--out", paramLabel = "FILE", description = "write the scores here (atomically) instead of stdout")
    Path out;

    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.ArgGroup(exclusive = true)
    Mismatch mismatch = new Mismatch();

    static final class Mismatch {
        @Option(names = "--resize", description = "convert images of another size or channel count (default)")
        boolean resize;

        @Option(names = "--refuse-mismatch", description = "fail on an image of another size or channel count")
        boolean refuse;
    }

    @CommandLine.Mixin
    LikelihoodOptions likelihood;

    @CommandLine.Mixin
    AnomalyOptions anomaly;

    @CommandLine.Mixin
    DequantizationOptions dequantization;

    @CommandLine.Mixin
    BatchOption batch = new BatchOption(100);

    @Override
    public Integer call() throws Exception {
        String fmt = format.toLowerCase(Locale.ROOT);
        if (!fmt.equals("csv") && !fmt.equals("json")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--format must be csv or json, got " + format);
        }
        int batchSize = batch.size();
        likelihood.withoutLabels(spec);
        List<AnomalyMethod> methods = anomaly.methods(List.of(AnomalyMethod.COMPLEXITY));
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        ModelFile.Loaded loaded = model.load();
        var config = loaded.model().config();
        ResizePolicy policy = mismatch.refuse ? ResizePolicy.REFUSE : ResizePolicy.RESIZE;
        Scored scored = new Scored(
                loaded,
                methods,
                anomaly.reference(
                        loaded, methods, likelihood, batchSize, dequantization.seed, imageLimit.forModel(config)),
                dequantization.dequantizer());
        for (Path input : inputs) {
            if (ImageStore.isStore(input)) {
                scoreStore(input, scored);
                continue;
            }
            List<String> names = new ArrayList<>();
            List<byte[]> read = new ArrayList<>();
            for (Path file : expand(List.of(input))) {
                read.add(ImageFolderReader.readImage(
                        file,
                        config.inChannels(),
                        config.imageSize(),
                        policy,
                        imageLimit.pixels(),
                        change -> stderr.println("note: " + file + ": " + change)));
                names.add(file.toString());
            }
            scored.add(names, read);
        }
        List<String> files = scored.files;
        Table table = new Table(
                files,
                scored.scores,
                scored.anomalies,
                classNames(loaded, config.numClasses()),
                methods,
                likelihood.likelihood);
        String text = fmt.equals("csv") ? csv(table) : json(table, dequantization.describe(), likelihood.prior());
        if (out == null) {
            stdout.print(text);
        } else {
            AtomicFiles.write(out, text.getBytes(StandardCharsets.UTF_8));
            stderr.println("wrote " + files.size() + " scores to " + out);
        }
        return 0;
    }

    /**
     * The scores of the images read so far, with their anomaly scores: pixels are scored as they
     * are read and not kept, so a large store never sits in memory.
     */
    private final class Scored {
        final List<String> files = new ArrayList<>();
        final List<ImageScorer.Score> scores = new ArrayList<>();
        /** anomalies.get(i)[m]: image i's score under methods[m]. */
        final List<double[]> anomalies = new ArrayList<>();

        private final ModelFile.Loaded loaded;
        private final List<AnomalyMethod> methods;
        private final AnomalyReference reference;
        private final Dequantizer noise;

        Scored(ModelFile.Loaded loaded, List<AnomalyMethod> methods, AnomalyReference reference, Dequantizer noise) {
            this.loaded = loaded;
            this.methods = methods;
            this.reference = reference;
            this.noise = noise;
        }

        void add(List<String> names, List<byte[]> pixels) {
            var config = loaded.model().config();
            List<ImageScorer.Score> batchScores =
                    ImageScorer.score(loaded.model(), pixels, batch.size(), noise, likelihood.prior());
            for (int i = 0; i < pixels.size(); i++) {
                double bpd = batchScores.get(i).bitsPerDim(likelihood.likelihood);
                double[] a = new double[methods.size()];
                for (int m = 0; m < a.length; m++) {
                    a[m] = methods.get(m)
                            .score(
                                    bpd,
                                    pixels.get(i),
                                    config.inChannels(),
                                    config.imageSize(),
                                    config.imageSize(),
                                    reference);
                }
                anomalies.add(a);
            }
            files.addAll(names);
            scores.addAll(batchScores);
        }
    }

    /**
     * Scores every image of a prepared store, a batch at a time (the store's pixels never all in
     * memory); each image is named {@code STORE#index}. The store must have the model's shape.
     */
    private void scoreStore(Path dir, Scored scored) throws IOException {
        var config = scored.loaded.model().config();
        try (ImageStore store = ImageStore.open(dir)) {
            store.requireShape(config.inChannels(), config.imageSize(), "the model takes");
            ImageDataset data = new ImageDataset(store);
            for (int start = 0; start < data.size(); start += batch.size()) {
                List<String> names = new ArrayList<>();
                List<byte[]> pixels = new ArrayList<>();
                for (int i = start; i < Math.min(data.size(), start + batch.size()); i++) {
                    pixels.add(data.imageBytes(i));
                    names.add(dir + "#" + i);
                }
                scored.add(names, pixels);
            }
        }
    }

    /** Files as given, folders expanded to their image files (recursively, sorted). */
    static List<Path> expand(List<Path> inputs) throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> walk = Files.walk(p)) {
                    List<Path> found = walk.filter(Files::isRegularFile)
                            .filter(ScoreCommand::isImageName)
                            .filter(f -> !f.getFileName().toString().startsWith("."))
                            .sorted()
                            .toList();
                    if (found.isEmpty()) {
                        throw new IOException(p + ": expected image files (" + String.join(", ", EXTENSIONS)
                                + ") in the folder, found none");
                    }
                    files.addAll(found);
                }
            } else if (Files.isRegularFile(p)) {
                files.add(p);
            } else {
                throw new NoSuchFileException(p.toString(), null, "no such image file or folder");
            }
        }
        return files;
    }

    private static boolean isImageName(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    private static List<String> classNames(ModelFile.Loaded loaded, int k) {
        String recorded = loaded.metadata().get(ModelFile.CLASS_NAMES);
        List<String> names = new ArrayList<>();
        if (recorded != null && !recorded.isBlank()) {
            names.addAll(List.of(recorded.split(",", -1)));
        }
        while (names.size() < k) {
            names.add(Integer.toString(names.size()));
        }
        return names.subList(0, k);
    }

    /** What is printed: the images' names, their scores and anomaly scores, and the reported definitions. */
    record Table(
            List<String> files,
            List<ImageScorer.Score> scores,
            List<double[]> anomalies,
            List<String> classNames,
            List<AnomalyMethod> methods,
            Likelihood likelihood) {
        double anomaly(int i, int method) {
            return anomalies.get(i)[method];
        }
    }

    static String csv(Table t) {
        StringBuilder sb = new StringBuilder("file,bits_per_dim");
        for (AnomalyMethod m : t.methods()) {
            sb.append(",anomaly_").append(m.flag());
        }
        int k = t.classNames().size();
        if (k > 0) {
            sb.append(",bpd_unconditional,bpd_marginal,predicted");
            for (int c = 0; c < k; c++) {
                sb.append(",bpd_class_").append(c);
            }
            for (int c = 0; c < k; c++) {
                sb.append(",posterior_").append(c);
            }
        }
        sb.append('\n');
        for (int i = 0; i < t.files().size(); i++) {
            ImageScorer.Score s = t.scores().get(i);
            sb.append(csvField(t.files().get(i))).append(',').append(fmt(s.bitsPerDim(t.likelihood())));
            for (int m = 0; m < t.methods().size(); m++) {
                sb.append(',').append(fmt(t.anomaly(i, m)));
            }
            if (k > 0) {
                sb.append(',').append(fmt(s.unconditional())).append(',').append(fmt(s.marginal()));
                sb.append(',').append(s.predicted());
                for (double v : s.classBitsPerDim()) {
                    sb.append(',').append(fmt(v));
                }
                for (double v : s.posterior()) {
                    sb.append(',').append(String.format(Locale.ROOT, "%.6g", v));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String json(Table t, String dequantization, Prior prior) throws IOException {
        ObjectNode root = EvalReport.mapper().createObjectNode();
        root.put("dequantization", dequantization);
        root.put("likelihood", t.likelihood().flag());
        root.put("prior", prior.flag());
        root.set("class_names", EvalReport.mapper().valueToTree(t.classNames()));
        ArrayNode arr = root.putArray("images");
        for (int i = 0; i < t.files().size(); i++) {
            ImageScorer.Score s = t.scores().get(i);
            ObjectNode o = arr.addObject();
            o.put("file", t.files().get(i));
            o.put("bits_per_dim", s.bitsPerDim(t.likelihood()));
            ObjectNode anomaly = o.putObject("anomaly");
            for (int m = 0; m < t.methods().size(); m++) {
                anomaly.put(t.methods().get(m).flag(), t.anomaly(i, m));
            }
            if (s.posterior() != null) {
                o.put("bits_per_dim_unconditional", s.unconditional());
                o.put("bits_per_dim_marginal", s.marginal());
                o.put("predicted", s.predicted());
                o.set("bits_per_dim_given_class", EvalReport.mapper().valueToTree(s.classBitsPerDim()));
                o.set("posterior", EvalReport.mapper().valueToTree(s.posterior()));
            }
        }
        return EvalReport.mapper().writeValueAsString(root) + "\n";
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.6f", v);
    }

    private static String csvField(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }
}
