package io.tarflow4j.data;

import io.tarflow4j.io.ImageException;
import io.tarflow4j.io.Images;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a folder of image files, like torchvision's {@code ImageFolder}: each sub-folder is a
 * class (classes are the sub-folder names in sorted order, labels their indices), holding that
 * class's images. A folder with image files directly inside and no sub-folders is read as an
 * unlabelled dataset. Files are decoded with {@code javax.imageio} (PNG, JPEG, BMP, GIF); other
 * files and hidden files are ignored. Images are read in sorted name order.
 */
public final class ImageFolderReader {
    private static final Logger LOG = LoggerFactory.getLogger(ImageFolderReader.class);
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif");
    private static final int NAMES_IN_WARNING = 5;

    private ImageFolderReader() {}

    /**
     * Reads an image folder.
     *
     * @param dir the folder
     * @param options the target size and channels, and how to handle bad or differently sized files
     * @return the dataset
     * @throws DataException when the folder holds no images, a file is unreadable (unless
     *     {@link DataOptions#skipBad()}), or a file has the wrong size under
     *     {@link ResizePolicy#REFUSE}
     * @throws IOException when the folder cannot be listed
     */
    public static ImageDataset read(Path dir, DataOptions options) throws IOException {
        Listing listing = listing(dir);
        List<String> classNames = listing.classNames();
        List<List<Path>> files = listing.files();
        Loader loader = new Loader(options);
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < files.size(); c++) {
            for (Path file : files.get(c)) {
                if (loader.add(file)) {
                    labels.add(c);
                }
            }
        }
        if (!loader.bad.isEmpty()) {
            LOG.warn(
                    "{}: skipped {} unreadable image file(s): {}{}",
                    dir,
                    loader.bad.size(),
                    String.join(", ", loader.bad.subList(0, Math.min(NAMES_IN_WARNING, loader.bad.size()))),
                    loader.bad.size() > NAMES_IN_WARNING ? ", ..." : "");
        }
        if (labels.isEmpty()) {
            throw new DataException(
                    dir, "expected readable image files, found none (" + loader.bad.size() + " unreadable skipped)");
        }
        int[] labelArray = classNames.isEmpty()
                ? null
                : labels.stream().mapToInt(Integer::intValue).toArray();
        ImageDataset dataset = new ImageDataset(
                loader.pixels.toByteArray(),
                labelArray,
                loader.channels,
                loader.height,
                loader.width,
                classNames,
                loader.bad.size());
        LOG.info("{}: read {}", dir, dataset);
        return dataset;
    }

    /**
     * Reads one image file as 8-bit CHW bytes at a given channel count and square size, with the
     * same decoding, channel conversion and resize-then-centre-crop as a folder.
     *
     * @param file the image file (PNG, JPEG, BMP, GIF)
     * @param channels the wanted channels, 1 or 3
     * @param size the wanted square side in pixels
     * @param resize {@link ResizePolicy#REFUSE} fails on a size or a channel count that differs
     *     from the wanted one; {@link ResizePolicy#RESIZE} converts
     * @param changes told, in words, each conversion made ({@code "resized 32x32 to 28x28"}); may be null
     * @return {@code channels * size * size} bytes
     * @throws DataException naming the file when it is unreadable, or differs under REFUSE
     */
    public static byte[] readImage(
            Path file, int channels, int size, ResizePolicy resize, java.util.function.Consumer<String> changes)
            throws DataException {
        return readImage(file, channels, size, resize, Images.MAX_PIXELS, changes);
    }

    /**
     * {@link #readImage(Path, int, int, ResizePolicy, java.util.function.Consumer)} with a limit on
     * the pixels the file's header may declare ({@code --max-image-pixels}).
     */
    public static byte[] readImage(
            Path file,
            int channels,
            int size,
            ResizePolicy resize,
            long maxPixels,
            java.util.function.Consumer<String> changes)
            throws DataException {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (size < 1) {
            throw new IllegalArgumentException("size must be >= 1, got " + size);
        }
        BufferedImage image;
        try {
            image = decode(file, maxPixels);
        } catch (ImageException e) {
            throw new DataException(file, e.detail(), e);
        }
        int w = image.getWidth();
        int h = image.getHeight();
        int stored = ImageOps.channelsOf(image);
        if (resize == ResizePolicy.REFUSE && (stored != channels || w != size || h != size)) {
            throw new DataException(
                    file,
                    "image is " + w + "x" + h + " with " + stored + " channel(s), expected " + size + "x" + size
                            + " with " + channels + " (conversion refused)");
        }
        byte[] chw = ImageOps.convertChannels(ImageOps.toChw(image), stored, channels, h * w);
        if (stored != channels && changes != null) {
            changes.accept("converted " + stored + " channel(s) to " + channels);
        }
        if (w != size || h != size) {
            chw = ImageOps.resizeAndCenterCrop(chw, channels, h, w, size);
            if (changes != null) {
                changes.accept("resized " + w + "x" + h + " to " + size + "x" + size
                        + (w != h ? " (shorter side, centre crop)" : ""));
            }
        }
        return chw;
    }

    /**
     * The image files of a folder by class.
     *
     * @param classNames the class sub-folders' names in sorted order; empty for an unlabelled folder
     * @param files the image files of each class in sorted order (one list when unlabelled)
     */
    record Listing(List<String> classNames, List<List<Path>> files) {}

    /**
     * Lists a folder's image files as {@link #read} reads them.
     *
     * @param dir the folder
     * @return the classes and files
     * @throws DataException when the folder is missing or holds no image files
     * @throws IOException when it cannot be listed
     */
    static Listing listing(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new DataException(
                    dir, "expected a folder of images, found " + (Files.exists(dir) ? "a file" : "nothing"));
        }
        List<Path> classDirs = list(dir).stream().filter(Files::isDirectory).toList();
        List<String> classNames = new ArrayList<>();
        List<List<Path>> files = new ArrayList<>();
        if (classDirs.isEmpty()) {
            files.add(imageFiles(dir));
        } else {
            List<Path> loose = imageFiles(dir);
            if (!loose.isEmpty()) {
                LOG.warn(
                        "{}: ignoring {} image file(s) outside the class sub-folders, e.g. {}",
                        dir,
                        loose.size(),
                        loose.getFirst().getFileName());
            }
            for (Path classDir : classDirs) {
                classNames.add(classDir.getFileName().toString());
                files.add(imageFiles(classDir));
            }
        }
        if (files.stream().allMatch(List::isEmpty)) {
            throw new DataException(
                    dir,
                    "expected image files (" + String.join(", ", EXTENSIONS) + ")"
                            + (classDirs.isEmpty() ? "" : " in class sub-folders " + classNames) + ", found none");
        }
        return new Listing(classNames, files);
    }

    /** The one decoding path of image files: PNG, JPEG, BMP or GIF, size checked in the header first. */
    private static BufferedImage decode(Path file, long maxPixels) throws ImageException {
        try {
            return Images.decode(file, Images.COMMON, maxPixels);
        } catch (ImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageException(
                    ImageException.Problem.CORRUPT, file.toString(), "unreadable image: " + e.getMessage(), e);
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList();
        }
    }

    private static List<Path> imageFiles(Path dir) throws IOException {
        return list(dir).stream()
                .filter(Files::isRegularFile)
                .filter(ImageFolderReader::isImageName)
                .toList();
    }

    private static boolean isImageName(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    /** Decodes images one by one into a growing pixel buffer at a fixed size and channel count. */
    private static final class Loader {
        private final DataOptions options;
        private final ByteArrayOutputStream pixels = new ByteArrayOutputStream(1 << 20);
        private final List<String> bad = new ArrayList<>();
        private int channels;
        private int height;
        private int width;

        Loader(DataOptions options) {
            this.options = options;
            this.channels = options.channels();
            this.height = options.imageSize();
            this.width = options.imageSize();
        }

        /** Adds one file; returns false when it was unreadable and skipped. */
        boolean add(Path file) throws DataException {
            BufferedImage image;
            try {
                image = decode(file, options.maxPixels());
            } catch (ImageException e) {
                return bad(file, e.detail(), e);
            }
            int w = image.getWidth();
            int h = image.getHeight();
            int stored = ImageOps.channelsOf(image);
            if (channels == 0) {
                channels = stored;
            }
            if (height == 0) {
                height = h;
                width = w;
            }
            byte[] chw = ImageOps.convertChannels(ImageOps.toChw(image), stored, channels, h * w);
            if (h != height || w != width) {
                if (options.resize() == ResizePolicy.REFUSE) {
                    throw new DataException(
                            file,
                            "image is " + w + "x" + h + ", expected " + width + "x" + height
                                    + " (resize policy REFUSE)");
                }
                chw = height == width
                        ? ImageOps.resizeAndCenterCrop(chw, channels, h, w, height)
                        : ImageOps.resize(chw, channels, h, w, height, width);
            }
            if (pixels.size() > Integer.MAX_VALUE - 8 - chw.length) {
                throw new DataException(
                        file,
                        "the folder's images exceed the 2 GB a dataset in memory holds;"
                                + " prepare a store once (tarflow prepare FOLDER --out STORE) and give the store as --data");
            }
            pixels.write(chw, 0, chw.length);
            return true;
        }

        private boolean bad(Path file, String problem, Exception cause) throws DataException {
            if (!options.skipBad()) {
                throw new DataException(file, problem, cause);
            }
            bad.add(file.getFileName().toString());
            return false;
        }
    }
}
