package io.tarflow4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads the tensors of a state dict saved with {@code torch.save(model.state_dict(), path)} in
 * PyTorch's zip format ({@code <archive>/data.pkl}, one raw little-endian storage per
 * {@code <archive>/data/<key>}, and the {@code version}/{@code byteorder} entries).
 *
 * <p>The pickle is interpreted by a restricted machine that accepts only the opcodes and the few
 * globals a state dict needs (see {@link StateDictUnpickler}); nothing in the file can make this
 * reader run code. Every size is checked against the archive before memory is allocated for it.
 * Tensors are returned as contiguous, read-only copies (strided views are gathered).
 */
public final class PyTorchCheckpoint {

    /** The largest {@code data.pkl} accepted, in bytes. */
    public static final int MAX_PICKLE_BYTES = 64 << 20;

    /** The largest single storage accepted, in bytes (the limit of a Java array). */
    public static final long MAX_STORAGE_BYTES = Integer.MAX_VALUE - 8;

    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
    /** Pickle of the legacy magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes). */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a,
        0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    private PyTorchCheckpoint() {
    }

    /**
     * Reads a state dict.
     *
     * @param path a {@code .pth}/{@code .pt} file written by {@code torch.save}
     * @return the tensors by name, in the order of the state dict
     * @throws FormatException if the file is not a zip checkpoint (including the legacy format),
     *     the pickle uses anything outside the state-dict allow-list, a value is not a tensor, or a
     *     storage is missing or too short; the message names the file
     * @throws IOException if the file cannot be read
     */
    public static LinkedHashMap<String, RawTensor> read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        checkMagic(path);
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new FormatException(path, "not a readable zip archive: " + e.getMessage(), e);
        }
        try (zip) {
            String prefix = archivePrefix(path, zip);
            ZipEntry byteorder = zip.getEntry(prefix + "byteorder");
            if (byteorder != null) {
                String order = new String(readEntry(path, zip, byteorder, 16), StandardCharsets.US_ASCII).trim();
                if (!order.equals("little")) {
                    throw new FormatException(path, "byteorder \"" + order + "\", expected \"little\"");
                }
            }
            String pickleName = prefix + "data.pkl";
            byte[] pickle = readEntry(path, zip, zip.getEntry(pickleName), MAX_PICKLE_BYTES);
            Storages storages = new Storages(path, zip, prefix);
            Object result = StateDictUnpickler.load(path, pickleName, pickle, storages::rebuild);
            return toStateDict(path, result);
        } catch (ZipException e) {
            throw new FormatException(path, "corrupt zip archive: " + e.getMessage(), e);
        }
    }

    private static void checkMagic(Path path) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(LEGACY_MAGIC.length);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            while (head.hasRemaining() && ch.read(head) >= 0) {
                // fill what the file has
            }
        }
        byte[] h = Arrays.copyOf(head.array(), head.position());
        if (h.length >= 4 && Arrays.equals(h, 0, 4, ZIP_MAGIC, 0, 4)) {
            return;
        }
        if (Arrays.equals(h, LEGACY_MAGIC)) {
            throw new FormatException(path, "legacy PyTorch format not supported, re-save with "
                    + "torch.save(..., _use_new_zipfile_serialization=True)");
        }
        throw new FormatException(path, "not a PyTorch zip checkpoint: expected the zip signature 504b0304, found "
                + (h.length == 0 ? "an empty file" : HexFormat.of().formatHex(h, 0, Math.min(4, h.length))));
    }

    private static String archivePrefix(Path path, ZipFile zip) throws FormatException {
        Enumeration<? extends ZipEntry> entries = zip.entries();
        while (entries.hasMoreElements()) {
            String name = entries.nextElement().getName();
            int slash = name.indexOf('/');
            if (slash >= 0 && name.substring(slash + 1).equals("data.pkl")) {
                return name.substring(0, slash + 1);
            }
        }
        throw new FormatException(path, "no <archive>/data.pkl entry in the zip archive");
    }

    private static byte[] readEntry(Path path, ZipFile zip, ZipEntry entry, long maxBytes) throws IOException {
        long size = entry.getSize();
        if (size > maxBytes) {
            throw new FormatException(path, entry.getName() + " has " + size + " bytes, expected at most " + maxBytes);
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] bytes = in.readNBytes((int) Math.min(maxBytes, size < 0 ? maxBytes : size));
            if (size >= 0 && bytes.length != size) {
                throw new FormatException(path, entry.getName() + " is truncated: expected " + size
                        + " bytes, found " + bytes.length);
            }
            if (size < 0 && in.read() >= 0) {
                throw new FormatException(path, entry.getName() + " exceeds " + maxBytes + " bytes");
            }
            return bytes;
        }
    }

    private static LinkedHashMap<String, RawTensor> toStateDict(Path path, Object result) throws FormatException {
        if (!(result instanceof Map<?, ?> map)) {
            throw new FormatException(path, "data.pkl holds a " + StateDictUnpickler.typeName(result)
                    + ", expected a state dict (a dict of tensors)");
        }
        LinkedHashMap<String, RawTensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new FormatException(path, "state dict key of type "
                        + StateDictUnpickler.typeName(e.getKey()) + ", expected a string");
            }
            if (!(e.getValue() instanceof RawTensor t)) {
                throw new FormatException(path, "state dict entry \"" + name + "\" is a "
                        + StateDictUnpickler.typeName(e.getValue()) + ", expected a tensor");
            }
            out.put(name, t);
        }
        return out;
    }

    /** Loads storages on first use and cuts tensors out of them. */
    private static final class Storages {
        private final Path path;
        private final ZipFile zip;
        private final String prefix;
        private final Map<String, ByteBuffer> loaded = new HashMap<>();
        private final Map<String, StateDictUnpickler.StorageRef> declared = new HashMap<>();

        Storages(Path path, ZipFile zip, String prefix) {
            this.path = path;
            this.zip = zip;
            this.prefix = prefix;
        }

        RawTensor rebuild(StateDictUnpickler.StorageRef ref, long offset, long[] size, long[] stride)
                throws FormatException {
            String where = "storage \"" + ref.key() + "\"";
            StateDictUnpickler.StorageRef first = declared.putIfAbsent(ref.key(), ref);
            if (first != null && !first.equals(ref)) {
                throw new FormatException(path, where + " is declared twice with different types or sizes: "
                        + first + " and " + ref);
            }
            int elem = ref.dtype().byteSize();
            long storageBytes;
            long numel;
            long extent; // one past the highest element index the view touches
            try {
                storageBytes = Math.multiplyExact(ref.numel(), (long) elem);
                numel = RawTensor.numel(size);
                extent = offset;
                if (numel > 0) {
                    for (int d = 0; d < size.length; d++) {
                        extent = Math.addExact(extent, Math.multiplyExact(size[d] - 1, stride[d]));
                    }
                    extent = Math.addExact(extent, 1);
                }
                Math.multiplyExact(numel, (long) elem);
            } catch (ArithmeticException | IllegalArgumentException e) {
                throw new FormatException(path, where + ": tensor size " + Arrays.toString(size) + " with stride "
                        + Arrays.toString(stride) + " overflows");
            }
            if (extent > ref.numel()) {
                throw new FormatException(path, where + " has " + ref.numel() + " elements, the tensor "
                        + Arrays.toString(size) + " with stride " + Arrays.toString(stride) + " and offset " + offset
                        + " needs " + extent);
            }
            if (storageBytes > MAX_STORAGE_BYTES) {
                throw new FormatException(path, where + " declares " + storageBytes + " bytes, more than "
                        + MAX_STORAGE_BYTES + " this reader supports");
            }
            ByteBuffer storage = load(ref, storageBytes);
            ByteBuffer out = ByteBuffer.allocate((int) (numel * elem)).order(ByteOrder.LITTLE_ENDIAN);
            if (isContiguous(size, stride)) {
                out.put(storage.slice((int) (offset * elem), out.capacity()));
            } else {
                gather(storage, elem, offset, size, stride, out);
            }
            out.flip();
            return new RawTensor(ref.dtype(), size, out.asReadOnlyBuffer());
        }

        private ByteBuffer load(StateDictUnpickler.StorageRef ref, long storageBytes) throws FormatException {
            ByteBuffer cached = loaded.get(ref.key());
            if (cached != null) {
                return cached;
            }
            String name = prefix + "data/" + ref.key();
            ZipEntry entry = zip.getEntry(name);
            if (entry == null) {
                throw new FormatException(path, "storage \"" + ref.key() + "\": missing zip entry " + name);
            }
            if (entry.getSize() >= 0 && entry.getSize() < storageBytes) {
                throw new FormatException(path, name + " has " + entry.getSize() + " bytes, its "
                        + ref.dtype() + " storage of " + ref.numel() + " elements needs " + storageBytes);
            }
            byte[] bytes;
            try (InputStream in = zip.getInputStream(entry)) {
                bytes = in.readNBytes((int) storageBytes);
            } catch (IOException e) {
                throw new FormatException(path, name + " cannot be read: " + e.getMessage(), e);
            }
            if (bytes.length < storageBytes) {
                throw new FormatException(path, name + " is truncated: expected " + storageBytes + " bytes, found "
                        + bytes.length);
            }
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            loaded.put(ref.key(), b);
            return b;
        }

        private static boolean isContiguous(long[] size, long[] stride) {
            long expected = 1;
            for (int d = size.length - 1; d >= 0; d--) {
                if (size[d] != 1 && stride[d] != expected) {
                    return false;
                }
                expected *= size[d];
            }
            return true;
        }

        private static void gather(ByteBuffer storage, int elem, long offset, long[] size, long[] stride,
                ByteBuffer out) {
            int rank = size.length;
            long[] index = new long[rank];
            long src = offset;
            long count = out.capacity() / elem;
            for (long n = 0; n < count; n++) {
                out.put(storage.slice((int) (src * elem), elem));
                for (int d = rank - 1; d >= 0; d--) {
                    index[d]++;
                    src += stride[d];
                    if (index[d] < size[d]) {
                        break;
                    }
                    src -= stride[d] * index[d];
                    index[d] = 0;
                }
            }
        }
    }
}
