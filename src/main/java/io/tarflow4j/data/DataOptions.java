package io.tarflow4j.data;

import io.tarflow4j.io.Images;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How a dataset is loaded.
 *
 * @param imageSize target square size in pixels, or 0 to keep the stored size (for an image folder:
 *     the size of its first image)
 * @param channels 1 (grayscale) or 3 (RGB), or 0 to keep the stored channel count (for an image
 *     folder: that of its first image); conversion to gray uses {@code 0.299R + 0.587G + 0.114B}
 *     rounded, conversion to RGB replicates the gray value
 * @param skipBad when true, unreadable or corrupt image files are skipped, counted and logged;
 *     when false (the default) the first such file fails the load with a {@link DataException}
 * @param resize what to do with images whose size differs from the target size
 * @param labels an explicit IDX labels file for an IDX images file, or {@code null} to look for
 *     the labels file beside the images file
 * @param maxPixels the most pixels (width x height) an image file's header may declare; larger
 *     files are refused before decoding ({@code --max-image-pixels}, default {@link Images#MAX_PIXELS})
 */
public record DataOptions(
        int imageSize, int channels, boolean skipBad, ResizePolicy resize, Path labels, long maxPixels) {

    /** Validates the options. */
    public DataOptions {
        if (imageSize < 0) {
            throw new IllegalArgumentException("imageSize must be 0 (keep) or positive, got " + imageSize);
        }
        if (channels != 0 && channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 0 (keep), 1 or 3, got " + channels);
        }
        Objects.requireNonNull(resize, "resize");
        if (maxPixels < 1) {
            throw new IllegalArgumentException("maxPixels must be >= 1, got " + maxPixels);
        }
    }

    /** Options with the default pixel limit. */
    public DataOptions(int imageSize, int channels, boolean skipBad, ResizePolicy resize, Path labels) {
        this(imageSize, channels, skipBad, resize, labels, Images.MAX_PIXELS);
    }

    /**
     * Returns the defaults: stored size and channels, fail on bad files, resize on size mismatch,
     * labels found beside the images.
     *
     * @return the default options
     */
    public static DataOptions defaults() {
        return new DataOptions(0, 0, false, ResizePolicy.RESIZE, null);
    }

    /**
     * Returns a copy with another target image size.
     *
     * @param size the square size in pixels, or 0 to keep the stored size
     * @return the new options
     */
    public DataOptions withImageSize(int size) {
        return new DataOptions(size, channels, skipBad, resize, labels, maxPixels);
    }

    /**
     * Returns a copy with another channel count.
     *
     * @param count 1, 3, or 0 to keep the stored channel count
     * @return the new options
     */
    public DataOptions withChannels(int count) {
        return new DataOptions(imageSize, count, skipBad, resize, labels, maxPixels);
    }

    /**
     * Returns a copy that skips (or does not skip) unreadable image files.
     *
     * @param skip whether to skip bad files
     * @return the new options
     */
    public DataOptions withSkipBad(boolean skip) {
        return new DataOptions(imageSize, channels, skip, resize, labels, maxPixels);
    }

    /**
     * Returns a copy with another resize policy.
     *
     * @param policy what to do when an image's size differs from the target
     * @return the new options
     */
    public DataOptions withResize(ResizePolicy policy) {
        return new DataOptions(imageSize, channels, skipBad, policy, labels, maxPixels);
    }

    /**
     * Returns a copy with an explicit IDX labels file.
     *
     * @param file the labels file, or {@code null} to look beside the images file
     * @return the new options
     */
    public DataOptions withLabels(Path file) {
        return new DataOptions(imageSize, channels, skipBad, resize, file, maxPixels);
    }

    /**
     * Returns a copy with another pixel limit.
     *
     * @param pixels the most pixels an image header may declare
     * @return the new options
     */
    public DataOptions withMaxPixels(long pixels) {
        return new DataOptions(imageSize, channels, skipBad, resize, labels, pixels);
    }
}
