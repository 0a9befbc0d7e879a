package io.tarflow4j.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed (recognised by the
 * gzip magic bytes, whatever the file name). Supports unsigned-byte image files (magic 2051:
 * count, rows, columns) and label files (magic 2049: count). The header, the counts and the file's
 * length are all checked; any mismatch fails with a {@link DataException} naming the file.
 */
public final class IdxReader {
    /** Magic number of an IDX file of unsigned-byte images ({@code N x rows x cols}). */
    public static final int IMAGES_MAGIC = 0x0803;
    /** Magic number of an IDX file of unsigned-byte labels ({@code N}). */
    public static final int LABELS_MAGIC = 0x0801;

    private IdxReader() {}

    /**
     * Reads an images file into an unlabelled single-channel dataset.
     *
     * @param file the IDX images file, raw or gzipped
     * @return the images
     * @throws DataException when the file is missing, not an images file, or truncated
     * @throws IOException when the file cannot be read
     */
    public static ImageDataset readImages(Path file) throws IOException {
        try (InputStream in = open(file)) {
            Header header = readHeader(file, in, IMAGES_MAGIC, 3);
            int[] dims = header.dims();
            for (int d = 0; d < 3; d++) {
                if (dims[d] <= 0 && !(d == 0 && dims[d] == 0)) {
                    throw new DataException(
                            file,
                            "expected positive image dimensions, found " + dims[0] + " x " + dims[1] + " x " + dims[2]);
                }
            }
            long length = (long) dims[0] * dims[1] * dims[2];
            if (length > Integer.MAX_VALUE - 8) {
                throw new DataException(
                        file,
                        dims[0] + " images of " + dims[1] + "x" + dims[2] + " do not fit in one array (" + length
                                + " bytes)");
            }
            byte[] pixels = readBody(file, in, header.bytes(), (int) length);
            return ImageDataset.unlabelled(pixels, 1, dims[1], dims[2]);
        }
    }

    /**
     * Reads a labels file.
     *
     * @param file the IDX labels file, raw or gzipped
     * @return one label (0..255) per item
     * @throws DataException when the file is missing, not a labels file, or truncated
     * @throws IOException when the file cannot be read
     */
    public static int[] readLabels(Path file) throws IOException {
        try (InputStream in = open(file)) {
            Header header = readHeader(file, in, LABELS_MAGIC, 1);
            byte[] raw = readBody(file, in, header.bytes(), header.dims()[0]);
            int[] labels = new int[raw.length];
            for (int i = 0; i < raw.length; i++) {
                labels[i] = raw[i] & 0xFF;
            }
            return labels;
        }
    }

    /**
     * Reads an images file and, optionally, its labels file.
     *
     * @param images the IDX images file
     * @param labels the IDX labels file, or {@code null} for an unlabelled dataset
     * @param classNames class names indexed by label, or {@code null} for "0", "1", ... up to the
     *     largest label
     * @return the dataset
     * @throws DataException when a file is bad, the counts disagree, or a label has no class name
     * @throws IOException when a file cannot be read
     */
    public static ImageDataset read(Path images, Path labels, List<String> classNames) throws IOException {
        ImageDataset dataset = readImages(images);
        if (labels == null) {
            return dataset;
        }
        int[] values = readLabels(labels);
        if (values.length != dataset.size()) {
            throw new DataException(
                    labels,
                    "expected " + dataset.size() + " labels (one per image in " + images + "), found " + values.length);
        }
        if (classNames != null) {
            for (int i = 0; i < values.length; i++) {
                if (values[i] >= classNames.size()) {
                    throw new DataException(
                            labels,
                            "label " + values[i] + " of item " + i + " has no class name; expected labels below "
                                    + classNames.size());
                }
            }
        }
        return dataset.withLabels(values, classNames);
    }

    /** An IDX header: the dimensions and the header's length in bytes. */
    record Header(int[] dims, long bytes) {}

    /** Opens a raw or gzipped IDX file as a buffered stream at its first byte. */
    static InputStream open(Path file) throws IOException {
        InputStream raw;
        try {
            raw = Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new DataException(file, "no such file", e);
        }
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        try {
            in.mark(2);
            int b0 = in.read();
            int b1 = in.read();
            in.reset();
            if (b0 == 0x1f && b1 == 0x8b) {
                return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
            }
            return in;
        } catch (ZipException | EOFException e) {
            in.close();
            throw new DataException(file, "corrupt gzip header: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Reads and checks an IDX header's magic number and dimensions. */
    static Header readHeader(Path file, InputStream in, int expectedMagic, int expectedDims) throws IOException {
        byte[] magicBytes = readFully(file, in, 4, "the 4-byte IDX magic number");
        int magic = toInt(magicBytes, 0);
        if (magic != expectedMagic) {
            throw new DataException(
                    file,
                    "expected IDX magic " + expectedMagic + " (" + describe(expectedMagic) + "), found " + magic + " ("
                            + describe(magic) + ")");
        }
        byte[] dimBytes = readFully(file, in, 4 * expectedDims, "the IDX header's " + expectedDims + " dimension(s)");
        int[] dims = new int[expectedDims];
        for (int d = 0; d < expectedDims; d++) {
            dims[d] = toInt(dimBytes, 4 * d);
            if (dims[d] < 0) {
                throw new DataException(file, "negative IDX dimension " + dims[d] + " in the header");
            }
        }
        return new Header(dims, 4 + 4L * expectedDims);
    }

    private static String describe(int magic) {
        return switch (magic) {
            case IMAGES_MAGIC -> "unsigned-byte images";
            case LABELS_MAGIC -> "unsigned-byte labels";
            default ->
                (magic >>> 16) == 0
                        ? "IDX type 0x" + Integer.toHexString((magic >>> 8) & 0xFF) + " with " + (magic & 0xFF)
                                + " dimensions"
                        : "not an IDX file";
        };
    }

    private static byte[] readBody(Path file, InputStream in, long headerBytes, int length) throws IOException {
        long expectedTotal = headerBytes + length;
        byte[] body = new byte[length];
        int read = 0;
        try {
            while (read < length) {
                int n = in.read(body, read, length - read);
                if (n < 0) {
                    break;
                }
                read += n;
            }
        } catch (EOFException | ZipException e) {
            throw new DataException(
                    file,
                    "truncated or corrupt: expected " + expectedTotal
                            + " bytes of IDX data (header " + headerBytes + " + " + length
                            + "), the stream ended after "
                            + (headerBytes + read) + " bytes: " + e.getMessage(),
                    e);
        }
        if (read < length) {
            throw new DataException(
                    file,
                    "truncated: expected " + expectedTotal + " bytes of IDX data (header " + headerBytes + " + "
                            + length + "), found " + (headerBytes + read));
        }
        long extra;
        try {
            extra = in.transferTo(OutputStream.nullOutputStream());
        } catch (EOFException | ZipException e) {
            throw new DataException(
                    file, "corrupt data after the expected " + expectedTotal + " bytes: " + e.getMessage(), e);
        }
        if (extra > 0) {
            throw new DataException(
                    file,
                    "expected " + expectedTotal + " bytes of IDX data (header " + headerBytes + " + " + length
                            + "), found " + (expectedTotal + extra));
        }
        return body;
    }

    private static byte[] readFully(Path file, InputStream in, int n, String what) throws IOException {
        byte[] bytes;
        try {
            bytes = in.readNBytes(n);
        } catch (EOFException | ZipException e) {
            throw new DataException(file, "truncated or corrupt while reading " + what + ": " + e.getMessage(), e);
        }
        if (bytes.length < n) {
            throw new DataException(
                    file,
                    "truncated: expected " + what + ", the file ended after " + bytes.length + " of " + n + " bytes");
        }
        return bytes;
    }

    private static int toInt(byte[] b, int off) {
        return (b[off] & 0xFF) << 24 | (b[off + 1] & 0xFF) << 16 | (b[off + 2] & 0xFF) << 8 | (b[off + 3] & 0xFF);
    }
}
