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
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;

/** Reads PNG and JPEG files into 8-bit {@link PixelImage}s. */
public final class Images {

    /**
     * The largest image accepted by default, in pixels (width times height), checked in the header
     * before decoding; {@code --max-image-pixels} changes it.
     */
    public static final long MAX_PIXELS = 1L << 26;
    /** ImageIO format names of PNG and JPEG. */
    public static final Set<String> PNG_JPEG = Set.of("png", "jpeg", "jpg");
    /** ImageIO format names of the formats image folders may hold: PNG, JPEG, BMP, GIF. */
    public static final Set<String> COMMON = Set.of("png", "jpeg", "jpg", "bmp", "gif");

    private Images() {}

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
        try {
            return toPixels(decode(path, PNG_JPEG, MAX_PIXELS));
        } catch (ImageException e) {
            throw new FormatException(path, e.detail(), e);
        }
    }

    /**
     * Decodes an image file like {@link #decode(ImageInputStream, String, Set, long)}.
     *
     * @throws NoSuchFileException if the file does not exist
     */
    public static BufferedImage decode(Path path, Set<String> formats, long maxPixels) throws IOException {
        Objects.requireNonNull(path, "path");
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such image file");
        }
        try (ImageInputStream in = new FileImageInputStream(path.toFile())) {
            return decode(in, path.toString(), formats, maxPixels);
        }
    }

    /**
     * Decodes the first image of a stream with a decoder of one of {@code formats}, after checking
     * the width and height its header declares against {@code maxPixels} ({@link #checkPixels}):
     * a small file claiming a huge image fails here instead of filling the heap. Every decoding
     * path (data folders, scoring, the server) goes through this method.
     *
     * @param source names the image in messages (a file name, "the upload")
     * @param formats accepted ImageIO format names, lower case ({@link #PNG_JPEG}, {@link #COMMON})
     * @throws ImageException naming {@code source}: not an accepted format, too large, or corrupt
     */
    public static BufferedImage decode(ImageInputStream in, String source, Set<String> formats, long maxPixels)
            throws ImageException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        ImageReader reader = null;
        String found = "unknown content";
        while (readers.hasNext() && reader == null) {
            ImageReader r = readers.next();
            String format = formatName(r);
            if (formats.contains(format)) {
                reader = r;
            } else {
                found = format;
            }
        }
        if (reader == null) {
            throw new ImageException(
                    ImageException.Problem.UNSUPPORTED,
                    source,
                    "not a readable image: expected " + describe(formats) + " image, found " + found,
                    null);
        }
        try {
            reader.setInput(in, true, true);
            checkPixels(source, reader.getWidth(0), reader.getHeight(0), maxPixels);
            return reader.read(0);
        } catch (ImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageException(
                    ImageException.Problem.CORRUPT,
                    source,
                    "cannot decode the " + formatName(reader).toUpperCase(Locale.ROOT) + " image: " + e.getMessage(),
                    e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * Refuses an image whose header declares more than {@code maxPixels} pixels; decoders call it
     * before allocating anything for the pixels.
     *
     * @throws ImageException of kind {@link ImageException.Problem#TOO_LARGE}, naming the flag that
     *     raises the limit
     */
    public static void checkPixels(String source, long width, long height, long maxPixels) throws ImageException {
        if (width < 1 || height < 1 || width > maxPixels || height > maxPixels || width * height > maxPixels) {
            throw new ImageException(
                    ImageException.Problem.TOO_LARGE,
                    source,
                    "the image header declares "
                            + width + "x" + height + " pixels, more than the limit of " + maxPixels
                            + " (--max-image-pixels raises it)",
                    null);
        }
    }

    private static String formatName(ImageReader reader) {
        try {
            return reader.getFormatName().toLowerCase(Locale.ROOT);
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String describe(Set<String> formats) {
        return formats.equals(PNG_JPEG) ? "a PNG or JPEG" : "a PNG, JPEG, BMP or GIF";
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
