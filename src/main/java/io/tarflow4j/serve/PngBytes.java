package io.tarflow4j.serve;

import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.io.Png;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;

/** PNG bytes of images laid out (N, C, H, W) with values in [-1, 1], in memory. */
final class PngBytes {
    /** Pixels between grid cells, as torchvision's {@code make_grid}. */
    static final int PADDING = 2;

    private PngBytes() {}

    /** A near-square grid of the first {@code count} images. */
    static byte[] grid(float[] images, int count, int channels, int size) {
        int columns = (int) Math.ceil(Math.sqrt(count));
        int length = count * channels * size * size;
        float[] used = images.length == length ? images : Arrays.copyOf(images, length);
        return encode(ImageGrid.forCount(count, columns, PADDING).render(used, count, channels, size, size));
    }

    /** Image {@code index} alone. */
    static byte[] image(float[] images, int index, int channels, int size) {
        int length = channels * size * size;
        float[] one = Arrays.copyOfRange(images, index * length, (index + 1) * length);
        return encode(new ImageGrid(1, 1, 0).render(one, 1, channels, size, size));
    }

    private static byte[] encode(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            Png.encode(image, out);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding a PNG in memory failed", e);
        }
        return out.toByteArray();
    }
}
