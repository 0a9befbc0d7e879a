package io.tarflow4j.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An image dataset: {@code N} images of {@code channels x height x width} unsigned 8-bit pixels,
 * each in CHW order, with optional integer labels and class names. The pixels are either in memory
 * (one byte array, image after image) or in a prepared {@link ImageStore} on disk, read image by
 * image so that memory does not grow with the dataset. Immutable; safe to share between threads.
 */
public final class ImageDataset {
    private static final float[] TO_UNIT = new float[256];

    static {
        for (int v = 0; v < 256; v++) {
            TO_UNIT[v] = v / 255f * 2f - 1f;
        }
    }

    private final byte[] pixels;
    private final ImageStore store;
    private final int count;
    private final ThreadLocal<byte[]> scratch;
    private final int[] labels;
    private final int channels;
    private final int height;
    private final int width;
    private final List<String> classNames;
    private final int skipped;

    /**
     * Creates a dataset; the arrays are used as they are, not copied, and must not be changed
     * afterwards.
     *
     * @param pixels {@code N * channels * height * width} bytes, each image in CHW order
     * @param labels one label per image in {@code [0, classNames.size())}, or {@code null} when
     *     unlabelled
     * @param channels channels per image (1 or 3)
     * @param height image height in pixels
     * @param width image width in pixels
     * @param classNames the class names, indexed by label; empty when unlabelled
     * @param skipped how many source files were skipped as unreadable while loading
     * @throws IllegalArgumentException when the sizes do not agree or a label is out of range
     */
    public ImageDataset(
            byte[] pixels, int[] labels, int channels, int height, int width, List<String> classNames, int skipped) {
        this(
                pixels,
                null,
                imageCount(pixels.length, channels, height, width),
                labels,
                channels,
                height,
                width,
                classNames,
                skipped);
    }

    /**
     * Creates a dataset whose pixels stay in a prepared store and are read image by image.
     *
     * @param store the open store; its images, labels and class names make the dataset
     */
    public ImageDataset(ImageStore store) {
        this(
                null,
                store,
                store.size(),
                store.labels(),
                store.channels(),
                store.height(),
                store.width(),
                store.classNames(),
                store.skipped());
    }

    private static int imageCount(long bytes, int channels, int height, int width) {
        checkShape(channels, height, width);
        long imageBytes = (long) channels * height * width;
        if (imageBytes <= 0 || bytes % imageBytes != 0) {
            throw new IllegalArgumentException("pixel array of " + bytes + " bytes is not a whole number of " + channels
                    + "x" + height + "x" + width + " images");
        }
        return (int) (bytes / imageBytes);
    }

    private static void checkShape(int channels, int height, int width) {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + height + "x" + width);
        }
    }

    private ImageDataset(
            byte[] pixels,
            ImageStore store,
            int n,
            int[] labels,
            int channels,
            int height,
            int width,
            List<String> classNames,
            int skipped) {
        checkShape(channels, height, width);
        List<String> names = List.copyOf(classNames);
        if (labels != null) {
            if (labels.length != n) {
                throw new IllegalArgumentException("expected " + n + " labels (one per image), found " + labels.length);
            }
            for (int i = 0; i < n; i++) {
                if (labels[i] < 0 || labels[i] >= names.size()) {
                    throw new IllegalArgumentException("label " + labels[i] + " of image " + i + " is outside [0, "
                            + names.size() + ") for classes " + names);
                }
            }
        } else if (!names.isEmpty()) {
            throw new IllegalArgumentException("class names given for an unlabelled dataset: " + names);
        }
        if (skipped < 0) {
            throw new IllegalArgumentException("skipped must be >= 0, got " + skipped);
        }
        this.pixels = pixels;
        this.store = store;
        this.count = n;
        this.scratch = store == null ? null : ThreadLocal.withInitial(() -> new byte[imageLength()]);
        this.labels = labels;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.classNames = names;
        this.skipped = skipped;
    }

    /**
     * Creates an unlabelled dataset.
     *
     * @param pixels {@code N * channels * height * width} bytes, each image in CHW order
     * @param channels channels per image (1 or 3)
     * @param height image height
     * @param width image width
     * @return the dataset
     */
    public static ImageDataset unlabelled(byte[] pixels, int channels, int height, int width) {
        return new ImageDataset(pixels, null, channels, height, width, List.of(), 0);
    }

    /**
     * Returns this dataset's images with the given labels.
     *
     * @param newLabels one label per image
     * @param names class names indexed by label, or {@code null} for "0", "1", ... up to the
     *     largest label
     * @return the labelled dataset, sharing this dataset's pixels
     */
    public ImageDataset withLabels(int[] newLabels, List<String> names) {
        return new ImageDataset(
                pixels,
                store,
                count,
                newLabels,
                channels,
                height,
                width,
                names != null ? names : numericNames(newLabels),
                skipped);
    }

    /**
     * Returns class names "0", "1", ..., up to the largest of the labels.
     *
     * @param labels the labels
     * @return the names
     */
    static List<String> numericNames(int[] labels) {
        int max = -1;
        for (int label : labels) {
            max = Math.max(max, label);
        }
        List<String> names = new ArrayList<>(max + 1);
        for (int c = 0; c <= max; c++) {
            names.add(Integer.toString(c));
        }
        return names;
    }

    /**
     * Returns the number of images.
     *
     * @return {@code N}
     */
    public int size() {
        return count;
    }

    /**
     * Returns the channels per image.
     *
     * @return 1 or 3
     */
    public int channels() {
        return channels;
    }

    /**
     * Returns the image height.
     *
     * @return pixels
     */
    public int height() {
        return height;
    }

    /**
     * Returns the image width.
     *
     * @return pixels
     */
    public int width() {
        return width;
    }

    /**
     * Returns the number of values in one image, {@code channels * height * width}.
     *
     * @return values per image
     */
    public int imageLength() {
        return channels * height * width;
    }

    /**
     * Tells whether the images have labels.
     *
     * @return true when labelled
     */
    public boolean hasLabels() {
        return labels != null;
    }

    /**
     * Returns the number of classes.
     *
     * @return the number of class names; 0 when unlabelled
     */
    public int numClasses() {
        return classNames.size();
    }

    /**
     * Returns the class names, indexed by label.
     *
     * @return an unmodifiable list, empty when unlabelled
     */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * Returns how many source files were skipped as unreadable while loading.
     *
     * @return the count
     */
    public int skipped() {
        return skipped;
    }

    /**
     * Returns the label of one image.
     *
     * @param i the image index
     * @return its label
     * @throws IllegalStateException when the dataset is unlabelled
     */
    public int label(int i) {
        if (labels == null) {
            throw new IllegalStateException("dataset is unlabelled");
        }
        return labels[i];
    }

    /**
     * Returns a copy of all labels.
     *
     * @return the labels, or {@code null} when unlabelled
     */
    public int[] labels() {
        return labels == null ? null : labels.clone();
    }

    /**
     * Returns one image scaled to [-1, 1] as {@code x / 255 * 2 - 1}.
     *
     * @param i the image index
     * @return {@code channels * height * width} values in CHW order
     */
    public float[] image(int i) {
        float[] out = new float[imageLength()];
        copyImage(i, out, 0, false);
        return out;
    }

    /**
     * Returns a copy of one image's raw pixels.
     *
     * @param i the image index
     * @return {@code channels * height * width} bytes in CHW order (unsigned)
     */
    public byte[] imageBytes(int i) {
        checkIndex(i);
        int len = imageLength();
        if (store != null) {
            byte[] out = new byte[len];
            store.read(i, out, 0);
            return out;
        }
        return Arrays.copyOfRange(pixels, i * len, (i + 1) * len);
    }

    /**
     * Writes one image, scaled to [-1, 1], into an array, optionally mirrored left to right.
     *
     * @param i the image index
     * @param dst the destination
     * @param offset where in {@code dst} the image starts
     * @param flipHorizontal whether to mirror the image horizontally
     */
    public void copyImage(int i, float[] dst, int offset, boolean flipHorizontal) {
        checkIndex(i);
        byte[] pixels = this.pixels;
        int base = i * imageLength();
        if (store != null) {
            pixels = scratch.get();
            store.read(i, pixels, 0);
            base = 0;
        }
        if (!flipHorizontal) {
            for (int k = 0, len = imageLength(); k < len; k++) {
                dst[offset + k] = TO_UNIT[pixels[base + k] & 0xFF];
            }
            return;
        }
        for (int row = 0, rows = channels * height; row < rows; row++) {
            int src = base + row * width;
            int out = offset + row * width + width - 1;
            for (int x = 0; x < width; x++) {
                dst[out - x] = TO_UNIT[pixels[src + x] & 0xFF];
            }
        }
    }

    private void checkIndex(int i) {
        if (i < 0 || i >= size()) {
            throw new IndexOutOfBoundsException("image " + i + " of a dataset of " + size());
        }
    }

    @Override
    public String toString() {
        return "ImageDataset[" + size() + " x " + channels + "x" + height + "x" + width
                + (labels != null ? ", " + classNames.size() + " classes" : ", unlabelled")
                + (skipped > 0 ? ", " + skipped + " skipped" : "") + "]";
    }
}
