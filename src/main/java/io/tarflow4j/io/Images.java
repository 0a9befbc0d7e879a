package io.tarflow4j.io;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Objects;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

/** Reads PNG and JPEG files into 8-bit {@link PixelImage}s. */
public final class Images {

    /** The largest image accepted, in pixels (width times height). */
    public static final long MAX_PIXELS = 1L << 26;

    private Images() {
    }

    /**
     * Reads a PNG or JPEG image. Gray images (with or without alpha) give 1 channel, all others
     * 3 RGB channels; alpha is dropped. Gray samples are taken as stored (no gamma conversion),
     * 16-bit samples are scaled to 8 bits.
     *
     * @param path the image file
     * @return the decoded pixels
     * @throws NoSuchFileException if the file does not exist
     * @throws FormatException if the file is not a decodable PNG or JPEG, or is larger than
     *     {@link #MAX_PIXELS}
     * @throws IOException if the file cannot be read
     */
    public static PixelImage read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such image file");
        }
        try (ImageInputStream in = new FileImageInputStream(path.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            ImageReader reader = null;
            String found = "unknown content";
            while (readers.hasNext() && reader == null) {
                ImageReader r = readers.next();
                String format = r.getFormatName().toLowerCase(Locale.ROOT);
                if (format.equals("png") || format.equals("jpeg") || format.equals("jpg")) {
                    reader = r;
                } else {
                    found = format;
                }
            }
            if (reader == null) {
                throw new FormatException(path, "expected a PNG or JPEG image, found " + found);
            }
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w * h > MAX_PIXELS) {
                    throw new FormatException(path, "image of " + w + "x" + h + " pixels exceeds the limit of "
                            + MAX_PIXELS + " pixels");
                }
                return toPixels(reader.read(0));
            } catch (FormatException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new FormatException(path, "cannot decode the " + reader.getFormatName() + " image: " + e, e);
            } finally {
                reader.dispose();
            }
        }
    }

    private static PixelImage toPixels(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        boolean gray = img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY;
        if (gray) {
            Raster raster = img.getRaster();
            int bits = img.getColorModel().getComponentSize(0);
            int max = (1 << bits) - 1;
            byte[] out = new byte[w * h];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int s = raster.getSample(x, y, 0);
                    out[y * w + x] = (byte) (bits == 8 ? s : Math.round(s * 255.0 / max));
                }
            }
            return new PixelImage(w, h, 1, out);
        }
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                out[i] = (byte) (row[x] >> 16);
                out[i + 1] = (byte) (row[x] >> 8);
                out[i + 2] = (byte) row[x];
            }
        }
        return new PixelImage(w, h, 3, out);
    }
}
