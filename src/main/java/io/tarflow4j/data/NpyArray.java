package io.tarflow4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The header of a NumPy {@code .npy} array (format versions 1 to 3), read from a stream that is
 * then positioned at the array's data, so that arrays of any size are read streaming.
 *
 * @param name the file (or npz entry) the array came from, for messages
 * @param dtype the NumPy type string, e.g. {@code |u1} or {@code <i8}
 * @param fortranOrder whether the data is in column-major order
 * @param shape the array's dimensions
 */
record NpyArray(String name, String dtype, boolean fortranOrder, long[] shape) {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /**
     * Reads a header.
     *
     * @param in the stream at the array's first byte; left at the first data byte
     * @param name the file or entry name, for messages
     * @return the header
     * @throws DataException naming {@code name} when the header is not a NumPy array header
     * @throws IOException when the stream fails
     */
    static NpyArray read(InputStream in, String name) throws IOException {
        byte[] start = in.readNBytes(8);
        if (start.length < 8 || !Arrays.equals(start, 0, 6, MAGIC, 0, 6)) {
            throw new DataException(name + ": not a NumPy .npy array (expected the \\x93NUMPY magic bytes)");
        }
        int major = start[6];
        int headerLength;
        if (major == 1) {
            headerLength = ByteBuffer.wrap(readFully(in, 2, name))
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .getShort()
                    & 0xFFFF;
        } else if (major == 2 || major == 3) {
            headerLength = ByteBuffer.wrap(readFully(in, 4, name))
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .getInt();
            if (headerLength < 0 || headerLength > 1 << 20) {
                throw new DataException(name + ": implausible .npy header length " + headerLength);
            }
        } else {
            throw new DataException(name + ": .npy format version " + major + " (expected 1, 2 or 3)");
        }
        String header = new String(
                readFully(in, headerLength, name), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher descr = DESCR.matcher(header);
        Matcher fortran = FORTRAN.matcher(header);
        Matcher shape = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shape.find()) {
            throw new DataException(name + ": .npy header lacks descr, fortran_order or shape: " + header.strip());
        }
        String[] parts = shape.group(1).split(",");
        long[] dims = Arrays.stream(parts)
                .map(String::strip)
                .filter(s -> !s.isEmpty())
                .mapToLong(s -> {
                    try {
                        return Long.parseLong(s.endsWith("L") ? s.substring(0, s.length() - 1) : s);
                    } catch (NumberFormatException e) {
                        return -1;
                    }
                })
                .toArray();
        if (Arrays.stream(dims).anyMatch(d -> d < 0)) {
            throw new DataException(name + ": .npy shape (" + shape.group(1) + ") is not a list of sizes");
        }
        return new NpyArray(name, descr.group(1), fortran.group(1).equals("True"), dims);
    }

    private static byte[] readFully(InputStream in, int n, String name) throws IOException {
        byte[] bytes = in.readNBytes(n);
        if (bytes.length < n) {
            throw new DataException(name + ": .npy header ends early (truncated file)");
        }
        return bytes;
    }

    /**
     * Tells whether the elements are unsigned bytes.
     *
     * @return true for {@code u1} in any byte order notation
     */
    boolean isUint8() {
        return dtype.equals("|u1") || dtype.equals("<u1") || dtype.equals(">u1") || dtype.equals("u1");
    }

    /**
     * Returns the number of elements.
     *
     * @return the product of the dimensions
     */
    long elements() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Returns the shape as text.
     *
     * @return e.g. {@code (11000, 256, 256, 3)}
     */
    String shapeText() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            b.append(i > 0 ? ", " : "").append(shape[i]);
        }
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /**
     * Reads the data of a one-dimensional integer array (labels) from the stream after the header.
     *
     * @param in the stream at the first data byte
     * @return the values
     * @throws DataException when the array is not one-dimensional integers, a value does not fit an
     *     int, or the data ends early
     * @throws IOException when the stream fails
     */
    int[] readInts(InputStream in) throws IOException {
        if (shape.length != 1) {
            throw new DataException(name + ": expected a one-dimensional array of labels, found shape " + shapeText());
        }
        if (shape[0] > Integer.MAX_VALUE - 8) {
            throw new DataException(name + ": " + shape[0] + " labels are more than a store holds");
        }
        char order = dtype.charAt(0);
        String kind = order == '<' || order == '>' || order == '|' || order == '=' ? dtype.substring(1) : dtype;
        if (!kind.matches("[iu][1248]")) {
            throw new DataException(name + ": labels of type '" + dtype + "', expected integers (e.g. int64 or uint8)");
        }
        boolean unsigned = kind.charAt(0) == 'u';
        int width = kind.charAt(1) - '0';
        ByteBuffer data = ByteBuffer.wrap(in.readNBytes(Math.multiplyExact((int) shape[0], width)))
                .order(order == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        if (data.capacity() < shape[0] * width) {
            throw new DataException(name + ": truncated: " + shape[0] + " labels of " + width + " bytes need "
                    + shape[0] * width + " bytes, found " + data.capacity());
        }
        int[] out = new int[(int) shape[0]];
        for (int i = 0; i < out.length; i++) {
            long v = switch (width) {
                case 1 -> unsigned ? data.get() & 0xFF : data.get();
                case 2 -> unsigned ? data.getShort() & 0xFFFF : data.getShort();
                case 4 -> unsigned ? data.getInt() & 0xFFFFFFFFL : data.getInt();
                default -> data.getLong();
            };
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE || (unsigned && width == 8 && v < 0)) {
                throw new DataException(
                        name + ": label " + Long.toUnsignedString(v) + " of item " + i + " does not fit a 32-bit int");
            }
            out[i] = (int) v;
        }
        return out;
    }
}
