package io.tarflow4j.io;

import java.awt.image.RenderedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Objects;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Writes PNG files atomically (see {@link AtomicFiles}) from images or from [-1, 1] pixel data. */
public final class Png {

    private Png() {}

    /**
     * Writes a grid of images laid out (N, C, H, W); see {@link ImageGrid#render}.
     *
     * @param path the PNG file to create or replace
     * @param pixels values in [-1, 1], {@code count * channels * height * width} of them
     * @param count N
     * @param channels C, 1 or 3
     * @param height H
     * @param width W
     * @param grid rows, columns and padding
     * @throws IOException naming the path if it cannot be written; an existing file is kept
     */
    public static void writeGrid(
            Path path, float[] pixels, int count, int channels, int height, int width, ImageGrid grid)
            throws IOException {
        write(path, grid.render(pixels, count, channels, height, width));
    }

    /**
     * Writes one image laid out (C, H, W).
     *
     * @param path the PNG file to create or replace
     * @param pixels values in [-1, 1], {@code channels * height * width} of them
     * @param channels 1 or 3
     * @param height image height
     * @param width image width
     * @throws IOException naming the path if it cannot be written; an existing file is kept
     */
    public static void writeImage(Path path, float[] pixels, int channels, int height, int width) throws IOException {
        writeGrid(path, pixels, 1, channels, height, width, new ImageGrid(1, 1, 0));
    }

    /**
     * Writes an image as PNG.
     *
     * @param path the PNG file to create or replace
     * @param image the image
     * @throws IOException naming the path if it cannot be written; an existing file is kept
     */
    public static void write(Path path, RenderedImage image) throws IOException {
        Objects.requireNonNull(image, "image");
        try {
            AtomicFiles.write(path, out -> encode(image, out));
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains(path.toString())) {
                throw e;
            }
            throw new IOException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Encodes an image as PNG onto {@code out} (left open), through an in-memory cache: ImageIO's
     * default file cache writes a temporary file and registers a shutdown hook per stream, which
     * print stack traces when the disk is full or the JVM is stopping.
     *
     * @throws IOException when {@code out} fails or no PNG writer takes the image type
     */
    public static void encode(RenderedImage image, OutputStream out) throws IOException {
        try (ImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            if (!ImageIO.write(image, "png", stream)) {
                throw new IOException("no PNG writer for this image type");
            }
        }
    }
}
