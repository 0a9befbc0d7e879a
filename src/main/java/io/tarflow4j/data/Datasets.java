package io.tarflow4j.data;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens datasets by name or path: the bundled Fashion-MNIST ({@code fashion-mnist},
 * {@code fashion-mnist-test}), an IDX images file, a folder of images, or a prepared
 * {@link ImageStore} (a folder with a {@code manifest.json}).
 */
public final class Datasets {
    private static final Logger LOG = LoggerFactory.getLogger(Datasets.class);

    /** System property naming the folder that holds {@code fashion-mnist/} (or that folder itself). */
    public static final String DATA_DIR_PROPERTY = "tarflow.data.dir";
    /** Name of the bundled Fashion-MNIST training split (60,000 images). */
    public static final String FASHION_MNIST = "fashion-mnist";
    /** Name of the bundled Fashion-MNIST test split (10,000 images). */
    public static final String FASHION_MNIST_TEST = "fashion-mnist-test";
    /** The Fashion-MNIST class names, indexed by label. */
    public static final List<String> FASHION_MNIST_CLASSES = List.of(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private static final String IMAGES_SUFFIX = "-images-idx3-ubyte";
    private static final String LABELS_SUFFIX = "-labels-idx1-ubyte";
    private static final String TRAIN_IMAGES = "train" + IMAGES_SUFFIX + ".gz";

    private Datasets() {}

    /**
     * Opens a dataset.
     *
     * @param spec {@code fashion-mnist} or {@code fashion-mnist-test} for the bundled dataset
     *     (see {@link #locateFashionMnist()}); the path of an IDX images file, whose labels are
     *     {@link DataOptions#labels()} or, when that is null, the file beside it named with
     *     {@code -labels-idx1-ubyte[.gz]} in place of {@code -images-idx3-ubyte[.gz]} (without one
     *     the dataset is unlabelled); the path of a prepared store (see {@link ImageStore}), read
     *     image by image, which must already have the options' size and channels; or the path of a
     *     folder of images (see {@link ImageFolderReader}), read into memory
     * @param options how to load it; the target size and channels apply to every kind
     * @return the dataset
     * @throws DataException when the spec names nothing readable or the data is bad
     * @throws IOException when a file cannot be read
     */
    public static ImageDataset open(String spec, DataOptions options) throws IOException {
        if (spec.equals(FASHION_MNIST) || spec.equals(FASHION_MNIST_TEST)) {
            Path dir = locateFashionMnist();
            String split = spec.equals(FASHION_MNIST) ? "train" : "t10k";
            ImageDataset data = IdxReader.read(
                    dir.resolve(split + IMAGES_SUFFIX + ".gz"),
                    dir.resolve(split + LABELS_SUFFIX + ".gz"),
                    FASHION_MNIST_CLASSES);
            return adapt(data, options, dir.resolve(split + IMAGES_SUFFIX + ".gz"));
        }
        Path path;
        try {
            path = Path.of(spec);
        } catch (InvalidPathException e) {
            throw new DataException("dataset '" + spec + "' is not a valid path: " + e.getMessage());
        }
        if (Files.isDirectory(path)) {
            if (ImageStore.isStore(path) || StoreWriter.holdsStoreFiles(path)) {
                return openStore(path, options);
            }
            return ImageFolderReader.read(path, options);
        }
        if (Files.isRegularFile(path)) {
            Path labels = options.labels() != null ? options.labels() : labelsBeside(path);
            if (labels == null) {
                LOG.info("{}: no labels file given or found beside it; the dataset is unlabelled", path);
            }
            return adapt(IdxReader.read(path, labels, null), options, path);
        }
        throw new DataException("dataset '" + spec + "' not found: expected '" + FASHION_MNIST + "', '"
                + FASHION_MNIST_TEST + "', an IDX images file, a folder of images or a store made by tarflow prepare");
    }

    /**
     * Opens a prepared store, which must already have the requested size and channels: training
     * never decodes or resizes again.
     */
    private static ImageDataset openStore(Path dir, DataOptions options) throws IOException {
        ImageStore store = ImageStore.open(dir);
        try {
            store.requireShape(options.channels(), options.imageSize(), "asked for");
        } catch (DataException e) {
            store.close();
            throw e;
        }
        LOG.info("{}: {}", dir, store.manifest().describe());
        return new ImageDataset(store);
    }

    /**
     * Finds the labels file that belongs beside an IDX images file: {@code X-images-idx3-ubyte[.gz]}
     * goes with {@code X-labels-idx1-ubyte[.gz]} (either compression).
     *
     * @param images the images file
     * @return the labels file, or {@code null} when the name does not follow the pattern or no
     *     such file exists
     */
    public static Path labelsBeside(Path images) {
        String name = images.getFileName().toString();
        int at = name.lastIndexOf(IMAGES_SUFFIX);
        if (at < 0) {
            return null;
        }
        String rest = name.substring(at + IMAGES_SUFFIX.length());
        if (!rest.isEmpty() && !rest.equals(".gz")) {
            return null;
        }
        String stem = name.substring(0, at) + LABELS_SUFFIX;
        for (String candidate : List.of(stem + rest, stem + (rest.isEmpty() ? ".gz" : ""))) {
            Path labels = images.resolveSibling(candidate);
            if (Files.isRegularFile(labels)) {
                return labels;
            }
        }
        return null;
    }

    /**
     * Finds the bundled {@code fashion-mnist} folder. Looks, in order, in the folder named by the
     * system property {@value #DATA_DIR_PROPERTY} (or its {@code fashion-mnist} sub-folder), in
     * {@code data/fashion-mnist} under the working directory, and in {@code data/fashion-mnist}
     * under each folder above this code's jar or classes folder.
     *
     * @return the folder holding the four gzipped IDX files
     * @throws DataException listing every place looked at when none holds the files
     */
    public static Path locateFashionMnist() throws DataException {
        Set<Path> candidates = new LinkedHashSet<>();
        String property = System.getProperty(DATA_DIR_PROPERTY);
        if (property != null && !property.isBlank()) {
            Path dir = Path.of(property).toAbsolutePath().normalize();
            candidates.add(dir);
            candidates.add(dir.resolve(FASHION_MNIST));
        }
        candidates.add(Path.of("data", FASHION_MNIST).toAbsolutePath().normalize());
        for (Path dir = codeLocation(); dir != null; dir = dir.getParent()) {
            candidates.add(dir.resolve("data").resolve(FASHION_MNIST));
        }
        for (Path dir : candidates) {
            if (Files.isRegularFile(dir.resolve(TRAIN_IMAGES))) {
                return dir;
            }
        }
        List<String> looked = new ArrayList<>();
        candidates.forEach(p -> looked.add(p.toString()));
        throw new DataException("bundled dataset '" + FASHION_MNIST + "' not found: expected " + TRAIN_IMAGES
                + " in one of " + looked + "; run from the repository root or set -D" + DATA_DIR_PROPERTY
                + "=<folder holding fashion-mnist/>");
    }

    private static Path codeLocation() {
        try {
            CodeSource source = Datasets.class.getProtectionDomain().getCodeSource();
            if (source == null || source.getLocation() == null) {
                return null;
            }
            return Path.of(source.getLocation().toURI()).toAbsolutePath().normalize();
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            return null;
        }
    }

    /** Brings an IDX dataset to the requested channels and size. */
    private static ImageDataset adapt(ImageDataset data, DataOptions options, Path source) throws DataException {
        int channels = options.channels() == 0 ? data.channels() : options.channels();
        int size = options.imageSize();
        boolean resize = size != 0 && (data.height() != size || data.width() != size);
        if (channels == data.channels() && !resize) {
            return data;
        }
        if (resize && options.resize() == ResizePolicy.REFUSE) {
            throw new DataException(
                    source,
                    "images are " + data.width() + "x" + data.height() + ", expected " + size + "x" + size
                            + " (resize policy REFUSE)");
        }
        int h = resize ? size : data.height();
        int w = resize ? size : data.width();
        int n = data.size();
        byte[] out = new byte[Math.multiplyExact(n, channels * h * w)];
        for (int i = 0; i < n; i++) {
            byte[] image = ImageOps.convertChannels(
                    data.imageBytes(i), data.channels(), channels, data.height() * data.width());
            if (resize) {
                image = ImageOps.resizeAndCenterCrop(image, channels, data.height(), data.width(), size);
            }
            System.arraycopy(image, 0, out, i * image.length, image.length);
        }
        return new ImageDataset(out, data.labels(), channels, h, w, data.classNames(), data.skipped());
    }
}
