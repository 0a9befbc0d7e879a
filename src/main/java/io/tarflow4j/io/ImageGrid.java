package io.tarflow4j.io;

import java.awt.image.BufferedImage;
import java.util.Objects;

/**
 * The layout of a grid of equally sized images, as torchvision's {@code make_grid} draws it:
 * {@code padding} black pixels around and between the cells, images filled row by row, unused
 * cells left black.
 *
 * @param rows number of cell rows, at least 1
 * @param columns number of cell columns, at least 1
 * @param padding pixels between cells and around the border, at least 0
 */
public record ImageGrid(int rows, int columns, int padding) {

    /**
     * Validates the layout.
     *
     * @throws IllegalArgumentException if rows or columns is below 1 or padding is negative
     */
    public ImageGrid {
        if (rows < 1 || columns < 1 || padding < 0) {
            throw new IllegalArgumentException(
                    "grid needs rows >= 1, columns >= 1, padding >= 0, got " + rows + ", " + columns + ", " + padding);
        }
    }

    /**
     * Returns the smallest grid with the given number of columns that holds {@code count} images.
     *
     * @param count number of images, at least 1
     * @param columns cells per row, at least 1
     * @param padding pixels between cells and around the border
     * @return a grid of {@code ceil(count / columns)} rows
     */
    public static ImageGrid forCount(int count, int columns, int padding) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1, got " + count);
        }
        return new ImageGrid((count + columns - 1) / Math.max(1, columns), columns, padding);
    }

    /**
     * Maps a value in [-1, 1] to a pixel intensity: clamped to [-1, 1], then
     * {@code round((x + 1) / 2 * 255)}; NaN maps to 0.
     *
     * @param x the value
     * @return an intensity in 0..255
     */
    public static int toPixel(float x) {
        if (Float.isNaN(x)) {
            return 0;
        }
        float c = Math.max(-1f, Math.min(1f, x));
        return Math.round((c + 1f) / 2f * 255f);
    }

    /**
     * Draws images laid out (N, C, H, W) in row-major order into this grid.
     *
     * @param pixels values in [-1, 1] (others are clamped), {@code count * channels * height * width}
     *     of them
     * @param count N, at most {@code rows * columns}
     * @param channels C: 1 (gray) or 3 (RGB)
     * @param height H, at least 1
     * @param width W, at least 1
     * @return a gray ({@link BufferedImage#TYPE_BYTE_GRAY}) or RGB ({@link BufferedImage#TYPE_INT_RGB})
     *     image of {@code columns * (width + padding) + padding} by
     *     {@code rows * (height + padding) + padding} pixels
     * @throws IllegalArgumentException if the sizes do not match or the grid is too small
     */
    public BufferedImage render(float[] pixels, int count, int channels, int height, int width) {
        Objects.requireNonNull(pixels, "pixels");
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (count < 0 || height < 1 || width < 1) {
            throw new IllegalArgumentException(
                    "need count >= 0 and positive height and width, got " + count + ", " + height + ", " + width);
        }
        if (count > (long) rows * columns) {
            throw new IllegalArgumentException(count + " images do not fit a " + rows + " x " + columns + " grid");
        }
        long expected = (long) count * channels * height * width;
        if (pixels.length != expected) {
            throw new IllegalArgumentException("expected " + expected + " values for (" + count + ", " + channels + ", "
                    + height + ", " + width + "), got " + pixels.length);
        }
        int gridWidth = Math.toIntExact((long) columns * (width + padding) + padding);
        int gridHeight = Math.toIntExact((long) rows * (height + padding) + padding);
        BufferedImage img = new BufferedImage(
                gridWidth, gridHeight, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        int plane = height * width;
        for (int n = 0; n < count; n++) {
            int x0 = padding + (n % columns) * (width + padding);
            int y0 = padding + (n / columns) * (height + padding);
            int base = n * channels * plane;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int i = base + y * width + x;
                    if (channels == 1) {
                        img.getRaster().setSample(x0 + x, y0 + y, 0, toPixel(pixels[i]));
                    } else {
                        int r = toPixel(pixels[i]);
                        int g = toPixel(pixels[i + plane]);
                        int b = toPixel(pixels[i + 2 * plane]);
                        img.setRGB(x0 + x, y0 + y, (r << 16) | (g << 8) | b);
                    }
                }
            }
        }
        return img;
    }
}
