package io.tarflow4j.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * A decoded 8-bit image, pixels stored row by row with interleaved channels (HWC).
 *
 * @param width width in pixels
 * @param height height in pixels
 * @param channels 1 (gray) or 3 (RGB)
 * @param pixels {@code height * width * channels} intensities 0..255 as unsigned bytes
 */
public record PixelImage(int width, int height, int channels, byte[] pixels) {

    /**
     * Validates the sizes and copies the pixels.
     *
     * @throws IllegalArgumentException if a size is negative, channels is not 1 or 3, or the pixel
     *     count does not match
     */
    public PixelImage {
        Objects.requireNonNull(pixels, "pixels");
        if (width < 0 || height < 0 || (channels != 1 && channels != 3)) {
            throw new IllegalArgumentException(
                    "need width, height >= 0 and 1 or 3 channels, got " + width + ", " + height + ", " + channels);
        }
        if (pixels.length != (long) width * height * channels) {
            throw new IllegalArgumentException("expected " + (long) width * height * channels + " bytes for " + width
                    + "x" + height + "x" + channels + ", got " + pixels.length);
        }
        pixels = pixels.clone();
    }

    /**
     * Returns a copy of the pixels.
     *
     * @return HWC bytes
     */
    @Override
    public byte[] pixels() {
        return pixels.clone();
    }

    /**
     * Returns one intensity without copying the pixels.
     *
     * @param x column
     * @param y row
     * @param channel channel index
     * @return the intensity, 0..255
     * @throws IndexOutOfBoundsException if a coordinate is out of range
     */
    public int get(int x, int y, int channel) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(channel, channels);
        return pixels[(y * width + x) * channels + channel] & 0xFF;
    }

    /**
     * Compares sizes and pixels.
     *
     * @param o another object
     * @return true for an image with the same sizes and pixels
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof PixelImage p
                && width == p.width
                && height == p.height
                && channels == p.channels
                && Arrays.equals(pixels, p.pixels);
    }

    /**
     * Hashes sizes and pixels consistently with {@link #equals(Object)}.
     *
     * @return the hash code
     */
    @Override
    public int hashCode() {
        return Objects.hash(width, height, channels, Arrays.hashCode(pixels));
    }

    /**
     * Describes the sizes.
     *
     * @return for example {@code PixelImage[64x64x3]}
     */
    @Override
    public String toString() {
        return "PixelImage[" + width + "x" + height + "x" + channels + "]";
    }
}
