package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.ImageFolderReader;
import io.tarflow4j.data.ResizePolicy;
import io.tarflow4j.evaluation.Dequantizer;
import io.tarflow4j.evaluation.EvalReport;
import io.tarflow4j.evaluation.ImageScorer;
import io.tarflow4j.io.AtomicFiles;
import io.tarflow4j.tensor.Runtime;
import java.io.IOException;
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

/** {@code tarflow score --model CKPT IMAGES...|DIR}: per-image bits/dim, for anomaly scoring. */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = {"Scores images by exact likelihood: bits/dim per image (higher = less likely under the",
            "model), and for class-conditional models the bits/dim given each class and the posterior",
            "p(class|image) (uniform prior). Integer pixels are dequantised with fixed-seed uniform noise as",
            "eval bpd does (--seed), or at the bin centres with --center (deterministic, no noise).",
            "Images of another size or channel count are converted with a note on stderr, or refused",
            "with --refuse-mismatch. A folder is scored image by image, recursively, in sorted order."})
final class ScoreCommand implements java.util.concurrent.Callable<Integer> {
    @CommandLine.Mixin
    ImageLimitOption imageLimit;

    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");

    @Option(names = "--model", required = true, paramLabel = "CKPT", description = "model file")
    Path model;

    @Parameters(arity = "1..*", paramLabel = "IMAGES", description = "image files and/or folders of images")
    List<Path> inputs;

    @Option(names = "--format", defaultValue = "csv", description = "csv or json (default ${DEFAULT-VALUE})")
    String format;

    @Option(names = "--out", paramLabel = "FILE", description = "write the scores here (atomically) instead of stdout")
    Path out;

    @CommandLine.ArgGroup(exclusive = true)
    Mismatch mismatch = new Mismatch();

    static final class Mismatch {
        @Option(names = "--resize", description = "convert images of another size or channel count (default)")
        boolean resize;

        @Option(names = "--refuse-mismatch", description = "fail on an image of another size or channel count")
        boolean refuse;
    }

    @Option(names = "--center", description = "dequantise at the bin centres (u = 0.5) instead of seeded noise")
    boolean center;

    @Option(names = "--seed", defaultValue = "0", description = "dequantisation noise seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--batch", defaultValue = "100", description = "images per forward pass (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--no-ema", description = "use the raw weights of a checkpoint that also holds EMA weights")
    boolean noEma;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch threads (0: libtorch's default)")
    int threads;

    @Override
    public Integer call() throws Exception {
        String fmt = format.toLowerCase(Locale.ROOT);
        if (!fmt.equals("csv") && !fmt.equals("json")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--format must be csv or json, got " + format);
        }
        if (batch < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
        }
        if (threads > 0) {
            Runtime.setThreads(threads);
        }
        List<Path> files = expand(inputs);
        ModelFile.Loaded loaded = CliModels.load(model, !noEma, nonFinite);
        var config = loaded.model().config();
        ResizePolicy policy = mismatch.refuse ? ResizePolicy.REFUSE : ResizePolicy.RESIZE;
        List<byte[]> pixels = new ArrayList<>(files.size());
        for (Path file : files) {
            pixels.add(ImageFolderReader.readImage(file, config.inChannels(), config.imageSize(), policy, imageLimit.pixels(),
                    change -> System.err.println("note: " + file + ": " + change)));
        }
        List<ImageScorer.Score> scores = ImageScorer.score(loaded.model(), pixels, batch,
                center ? Dequantizer.center() : Dequantizer.uniform(seed));
        List<String> names = classNames(loaded, config.numClasses());
        String text = fmt.equals("csv") ? csv(files, scores, names)
                : json(files, scores, names, Dequantizer.describe(center, seed));
        if (out == null) {
            System.out.print(text);
        } else {
            AtomicFiles.write(out, text.getBytes(StandardCharsets.UTF_8));
            System.err.println("wrote " + files.size() + " scores to " + out);
        }
        return 0;
    }

    /** Files as given, folders expanded to their image files (recursively, sorted). */
    static List<Path> expand(List<Path> inputs) throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path p : inputs) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> walk = Files.walk(p)) {
                    List<Path> found = walk.filter(Files::isRegularFile).filter(ScoreCommand::isImageName)
                            .filter(f -> !f.getFileName().toString().startsWith(".")).sorted().toList();
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

    static String csv(List<Path> files, List<ImageScorer.Score> scores, List<String> names) {
        StringBuilder sb = new StringBuilder("file,bits_per_dim");
        int k = names.size();
        if (k > 0) {
            sb.append(",predicted");
            for (int c = 0; c < k; c++) {
                sb.append(",bpd_class_").append(c);
            }
            for (int c = 0; c < k; c++) {
                sb.append(",posterior_").append(c);
            }
        }
        sb.append('\n');
        for (int i = 0; i < files.size(); i++) {
            ImageScorer.Score s = scores.get(i);
            sb.append(csvField(files.get(i).toString())).append(',').append(fmt(s.bitsPerDim()));
            if (k > 0) {
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

    static String json(List<Path> files, List<ImageScorer.Score> scores, List<String> names, String dequantization)
            throws IOException {
        ObjectNode root = EvalReport.mapper().createObjectNode();
        root.put("dequantization", dequantization);
        root.set("class_names", EvalReport.mapper().valueToTree(names));
        ArrayNode arr = root.putArray("images");
        for (int i = 0; i < files.size(); i++) {
            ImageScorer.Score s = scores.get(i);
            ObjectNode o = arr.addObject();
            o.put("file", files.get(i).toString());
            o.put("bits_per_dim", s.bitsPerDim());
            if (s.posterior() != null) {
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
