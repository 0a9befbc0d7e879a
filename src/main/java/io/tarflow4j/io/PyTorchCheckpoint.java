package io.tarflow4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Reads the tensors of a state dict saved with {@code torch.save(model.state_dict(), path)} in
 * PyTorch's zip format ({@code <archive>/data.pkl}, one raw little-endian storage per
 * {@code <archive>/data/<key>}, and the {@code version}/{@code byteorder} entries).
 *
 * <p>The pickle is interpreted by a restricted machine that accepts only the opcodes and the few
 * globals a state dict needs (see {@link StateDictUnpickler}); nothing in the file can make this
 * reader run code. Every size is checked against the archive before memory is allocated for it.
 * Storages of any size are memory-mapped in place (PyTorch stores them uncompressed) and checked
 * against their CRC-32; contiguous tensors are read-only slices of the mapping, strided views are
 * gathered into copies.
 */
public final class PyTorchCheckpoint {

    /** The largest {@code data.pkl} accepted, in bytes. */
    public static final int MAX_PICKLE_BYTES = 64 << 20;

    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
    /** Pickle of the legacy magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes). */
    private static final byte[] LEGACY_MAGIC = {
        (byte) 0x80,
        0x02,
        (byte) 0x8a,
        0x0a,
        0x6c,
        (byte) 0xfc,
        (byte) 0x9c,
        0x46,
        (byte) 0xf9,
        0x20,
        0x6a,
        (byte) 0xa8,
        0x50,
        0x19
    };

    private PyTorchCheckpoint() {}

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
        try (ZipArchive zip = ZipArchive.open(path)) {
            String prefix = archivePrefix(path, zip);
            ZipArchive.Entry byteorder = zip.entry(prefix + "byteorder");
            if (byteorder != null) {
                String order = new String(readEntry(path, zip, byteorder, 16), StandardCharsets.US_ASCII).trim();
                if (!order.equals("little")) {
                    throw new FormatException(path, "byteorder \"" + order + "\", expected \"little\"");
                }
            }
            String pickleName = prefix + "data.pkl";
            ZipArchive.Entry pickleEntry = zip.entry(pickleName);
            if (pickleEntry == null) {
                throw new FormatException(path, "no " + pickleName + " entry in the zip archive");
            }
            byte[] pickle = readEntry(path, zip, pickleEntry, MAX_PICKLE_BYTES);
            Storages storages = new Storages(path, zip, prefix);
            Object result = StateDictUnpickler.load(path, pickleName, pickle, storages::rebuild);
            return toStateDict(path, result);
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
            throw new FormatException(
                    path,
                    "legacy PyTorch format not supported, re-save with "
                            + "torch.save(..., _use_new_zipfile_serialization=True)");
        }
        throw new FormatException(
                path,
                "not a PyTorch zip checkpoint: expected the zip signature 504b0304, found "
                        + (h.length == 0 ? "an empty file" : HexFormat.of().formatHex(h, 0, Math.min(4, h.length))));
    }

    private static String archivePrefix(Path path, ZipArchive zip) throws FormatException {
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash >= 0 && name.substring(slash + 1).equals("data.pkl")) {
                return name.substring(0, slash + 1);
            }
        }
        throw new FormatException(path, "no <archive>/data.pkl entry in the zip archive");
    }

    private static byte[] readEntry(Path path, ZipArchive zip, ZipArchive.Entry entry, long maxBytes)
            throws IOException {
        if (entry.size() > maxBytes) {
            throw new FormatException(
                    path, entry.name() + " has " + entry.size() + " bytes, expected at most " + maxBytes);
        }
        ByteBuffer b = zip.read(entry).asBuffer();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return bytes;
    }

    private static LinkedHashMap<String, RawTensor> toStateDict(Path path, Object result) throws FormatException {
        if (!(result instanceof Map<?, ?> map)) {
            throw new FormatException(
                    path,
                    "data.pkl holds a " + StateDictUnpickler.typeName(result)
                            + ", expected a state dict (a dict of tensors)");
        }
        LinkedHashMap<String, RawTensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new FormatException(
                        path,
                        "state dict key of type " + StateDictUnpickler.typeName(e.getKey()) + ", expected a string");
            }
            if (!(e.getValue() instanceof RawTensor t)) {
                throw new FormatException(
                        path,
                        "state dict entry \"" + name + "\" is a " + StateDictUnpickler.typeName(e.getValue())
                                + ", expected a tensor");
            }
            out.put(name, t);
        }
        return out;
    }

    /** Maps storages on first use and cuts tensors out of them. */
    private static final class Storages {
        private final Path path;
        private final ZipArchive zip;
        private final String prefix;
        private final Map<String, ByteRegion> loaded = new HashMap<>();
        private final Map<String, StateDictUnpickler.StorageRef> declared = new HashMap<>();

        Storages(Path path, ZipArchive zip, String prefix) {
            this.path = path;
            this.zip = zip;
            this.prefix = prefix;
        }

        RawTensor rebuild(StateDictUnpickler.StorageRef ref, long offset, long[] size, long[] stride)
                throws FormatException {
            String where = "storage \"" + ref.key() + "\"";
            StateDictUnpickler.StorageRef first = declared.putIfAbsent(ref.key(), ref);
            if (first != null && !first.equals(ref)) {
                throw new FormatException(
                        path, where + " is declared twice with different types or sizes: " + first + " and " + ref);
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
                throw new FormatException(
                        path,
                        where + ": tensor size " + Arrays.toString(size) + " with stride " + Arrays.toString(stride)
                                + " overflows");
            }
            if (extent > ref.numel()) {
                throw new FormatException(
                        path,
                        where + " has " + ref.numel() + " elements, the tensor "
                                + Arrays.toString(size) + " with stride " + Arrays.toString(stride) + " and offset "
                                + offset
                                + " needs " + extent);
            }
            ByteRegion storage = load(ref, storageBytes);
            if (isContiguous(size, stride)) {
                return new RawTensor(ref.dtype(), size, storage.slice(offset * elem, numel * elem));
            }
            if (numel * elem > Integer.MAX_VALUE - 8) {
                throw new FormatException(
                        path,
                        where + ": a strided view of " + numel * elem
                                + " bytes is larger than this reader gathers (2 GiB); save the tensor contiguous");
            }
            ByteBuffer out = ByteBuffer.allocate((int) (numel * elem)).order(ByteOrder.LITTLE_ENDIAN);
            gather(storage, elem, offset, size, stride, out);
            return new RawTensor(ref.dtype(), size, out.flip().asReadOnlyBuffer());
        }

        private ByteRegion load(StateDictUnpickler.StorageRef ref, long storageBytes) throws FormatException {
            ByteRegion cached = loaded.get(ref.key());
            if (cached != null) {
                return cached;
            }
            String name = prefix + "data/" + ref.key();
            ZipArchive.Entry entry = zip.entry(name);
            if (entry == null) {
                throw new FormatException(path, "storage \"" + ref.key() + "\": missing zip entry " + name);
            }
            if (entry.size() < storageBytes) {
                throw new FormatException(
                        path,
                        name + " has " + entry.size() + " bytes, its " + ref.dtype() + " storage of " + ref.numel()
                                + " elements needs " + storageBytes);
            }
            ByteRegion bytes;
            try {
                bytes = zip.read(entry).slice(0, storageBytes);
            } catch (FormatException e) {
                throw e;
            } catch (IOException e) {
                throw new FormatException(path, name + " cannot be read: " + e.getMessage(), e);
            }
            loaded.put(ref.key(), bytes);
            return bytes;
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

        private static void gather(
                ByteRegion storage, int elem, long offset, long[] size, long[] stride, ByteBuffer out) {
            // one buffer for storages under 2 GiB (a view, no copy), element reads beyond
            ByteBuffer whole = storage.size() <= Integer.MAX_VALUE - 8 ? storage.asBuffer() : null;
            int rank = size.length;
            long[] index = new long[rank];
            long src = offset;
            int count = out.capacity() / elem;
            for (int n = 0; n < count; n++) {
                if (whole != null) {
                    out.put(n * elem, whole, (int) (src * elem), elem);
                } else {
                    storage.get(src * elem, out.slice(n * elem, elem));
                }
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
            out.position(out.capacity());
        }
    }
}
