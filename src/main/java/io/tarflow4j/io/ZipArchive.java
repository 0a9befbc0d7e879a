package io.tarflow4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A zip archive read through its central directory (zip64 included), whose stored entries are
 * memory-mapped in place: the way to read multi-gigabyte PyTorch checkpoints, which store every
 * tensor storage uncompressed, without copying them to the heap. Deflated entries (an archive
 * re-packed by another tool) are inflated once into a temporary file, which is mapped and
 * deleted. Each entry's CRC-32 is checked when it is opened.
 */
final class ZipArchive implements AutoCloseable {

    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final long MAX_CENTRAL_DIRECTORY = 256L << 20;
    /** Entries smaller than this are read to the heap instead of memory-mapped. */
    private static final long MAP_THRESHOLD = 1L << 20;

    /**
     * One entry of the central directory.
     *
     * @param name the entry's name
     * @param method 0 (stored) or 8 (deflated)
     * @param crc the CRC-32 of the uncompressed bytes
     * @param compressedSize the bytes in the archive
     * @param size the uncompressed bytes
     * @param localHeader the offset of the entry's local header
     */
    record Entry(String name, int method, long crc, long compressedSize, long size, long localHeader) {}

    private final Path path;
    private final FileChannel channel;
    private final Map<String, Entry> entries;

    private ZipArchive(Path path, FileChannel channel, Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.entries = entries;
    }

    /**
     * Opens an archive and reads its central directory.
     *
     * @throws FormatException naming the file when it is not a readable zip archive
     */
    static ZipArchive open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new ZipArchive(path, ch, readDirectory(path, ch));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The entries by name, in directory order. */
    Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    /** The entry of that name, or null. */
    Entry entry(String name) {
        return entries.get(name);
    }

    /**
     * The uncompressed bytes of an entry, checked against its CRC-32: a mapping of the archive
     * for stored entries, of a deleted temporary file for deflated ones.
     *
     * @throws FormatException naming the entry when it is truncated, corrupt or of another method
     */
    ByteRegion read(Entry e) throws IOException {
        long dataStart = dataStart(e);
        if (dataStart + e.compressedSize() > channel.size()) {
            throw new FormatException(
                    path,
                    e.name() + " is truncated: its " + e.compressedSize() + " bytes at offset " + dataStart
                            + " run past the end of the file (" + channel.size() + " bytes)");
        }
        ByteRegion stored = e.compressedSize() < MAP_THRESHOLD
                ? ByteRegion.of(readAt(dataStart, (int) e.compressedSize()).asReadOnlyBuffer())
                : ByteRegion.map(channel, dataStart, e.compressedSize());
        ByteRegion bytes = switch (e.method()) {
            case 0 -> {
                if (e.compressedSize() != e.size()) {
                    throw new FormatException(
                            path,
                            e.name() + " is stored with " + e.compressedSize() + " bytes but declares " + e.size());
                }
                yield stored;
            }
            case 8 -> inflate(e, stored);
            default ->
                throw new FormatException(
                        path,
                        e.name() + " uses zip compression method " + e.method()
                                + ", expected 0 (stored) or 8 (deflated)");
        };
        CRC32 crc = new CRC32();
        bytes.forEachBuffer(crc::update);
        if (crc.getValue() != e.crc()) {
            throw new FormatException(
                    path,
                    e.name() + " is corrupt: CRC-32 " + Long.toHexString(crc.getValue()) + ", the archive records "
                            + Long.toHexString(e.crc()));
        }
        return bytes;
    }

    private long dataStart(Entry e) throws IOException {
        ByteBuffer local = readAt(e.localHeader(), 30);
        if (local.getInt(0) != LOCAL) {
            throw new FormatException(path, e.name() + ": no local file header at offset " + e.localHeader());
        }
        return e.localHeader() + 30 + (local.getShort(26) & 0xFFFF) + (local.getShort(28) & 0xFFFF);
    }

    private ByteRegion inflate(Entry e, ByteRegion compressed) throws IOException {
        Path tmp = Files.createTempFile("tarflow-zip", ".bin");
        try {
            Inflater inflater = new Inflater(true);
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE);
                    OutputStream os = Channels.newOutputStream(out)) {
                byte[] buf = new byte[1 << 16];
                long written = 0;
                for (ByteBuffer piece : mappedPieces(compressed)) {
                    inflater.setInput(piece);
                    while (!inflater.needsInput() && !inflater.finished()) {
                        int n = inflater.inflate(buf);
                        written += n;
                        if (written > e.size()) {
                            throw new FormatException(
                                    path, e.name() + " inflates to more than its declared " + e.size() + " bytes");
                        }
                        os.write(buf, 0, n);
                    }
                }
                if (written != e.size()) {
                    throw new FormatException(
                            path, e.name() + " inflates to " + written + " bytes, expected " + e.size());
                }
            } catch (DataFormatException ex) {
                throw new FormatException(path, e.name() + " is not valid deflate data: " + ex.getMessage(), ex);
            } finally {
                inflater.end();
            }
            try (FileChannel in = FileChannel.open(tmp, StandardOpenOption.READ)) {
                return ByteRegion.map(in, 0, e.size());
            }
        } finally {
            // the mapping outlives the name on POSIX systems; elsewhere the file goes at exit
            try {
                Files.delete(tmp);
            } catch (IOException ex) {
                tmp.toFile().deleteOnExit();
            }
        }
    }

    private static List<ByteBuffer> mappedPieces(ByteRegion region) {
        List<ByteBuffer> out = new ArrayList<>();
        region.forEachBuffer(out::add);
        return out;
    }

    private static Map<String, Entry> readDirectory(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        int tail = (int) Math.min(size, 22 + 0xFFFF);
        ByteBuffer end = read(path, ch, size - tail, tail);
        int eocd = -1;
        for (int i = tail - 22; i >= 0; i--) {
            if (end.getInt(i) == EOCD) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw new FormatException(path, "not a zip archive: no end-of-central-directory record");
        }
        long count = end.getShort(eocd + 10) & 0xFFFF;
        long cdSize = end.getInt(eocd + 12) & 0xFFFFFFFFL;
        long cdOffset = end.getInt(eocd + 16) & 0xFFFFFFFFL;
        long eocdPosition = size - tail + eocd;
        if (eocdPosition >= 20) {
            ByteBuffer locator = read(path, ch, eocdPosition - 20, 20);
            if (locator.getInt(0) == ZIP64_LOCATOR) {
                long at = locator.getLong(8);
                ByteBuffer z = read(path, ch, at, 56);
                if (z.getInt(0) != ZIP64_EOCD) {
                    throw new FormatException(path, "corrupt zip64 end-of-central-directory record at " + at);
                }
                count = z.getLong(32);
                cdSize = z.getLong(40);
                cdOffset = z.getLong(48);
            }
        }
        if (cdSize > MAX_CENTRAL_DIRECTORY || cdOffset < 0 || cdOffset + cdSize > size) {
            throw new FormatException(
                    path,
                    "corrupt zip archive: central directory of " + cdSize + " bytes at offset " + cdOffset
                            + " in a file of " + size);
        }
        ByteBuffer cd = read(path, ch, cdOffset, (int) cdSize);
        Map<String, Entry> out = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cd.limit() || cd.getInt(p) != CENTRAL) {
                throw new FormatException(path, "corrupt zip archive: central directory entry " + i + " is damaged");
            }
            int method = cd.getShort(p + 10) & 0xFFFF;
            long crc = cd.getInt(p + 16) & 0xFFFFFFFFL;
            long compressed = cd.getInt(p + 20) & 0xFFFFFFFFL;
            long plain = cd.getInt(p + 24) & 0xFFFFFFFFL;
            int nameLength = cd.getShort(p + 28) & 0xFFFF;
            int extraLength = cd.getShort(p + 30) & 0xFFFF;
            int commentLength = cd.getShort(p + 32) & 0xFFFF;
            long local = cd.getInt(p + 42) & 0xFFFFFFFFL;
            if (p + 46 + nameLength + extraLength + commentLength > cd.limit()) {
                throw new FormatException(path, "corrupt zip archive: central directory entry " + i + " is damaged");
            }
            byte[] nameBytes = new byte[nameLength];
            cd.get(p + 46, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            // zip64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF, in this order
            int x = p + 46 + nameLength;
            int xEnd = x + extraLength;
            while (x + 4 <= xEnd) {
                int id = cd.getShort(x) & 0xFFFF;
                int len = cd.getShort(x + 2) & 0xFFFF;
                if (id == 0x0001) {
                    int q = x + 4;
                    if (plain == 0xFFFFFFFFL && q + 8 <= x + 4 + len) {
                        plain = cd.getLong(q);
                        q += 8;
                    }
                    if (compressed == 0xFFFFFFFFL && q + 8 <= x + 4 + len) {
                        compressed = cd.getLong(q);
                        q += 8;
                    }
                    if (local == 0xFFFFFFFFL && q + 8 <= x + 4 + len) {
                        local = cd.getLong(q);
                    }
                }
                x += 4 + len;
            }
            if (plain < 0 || compressed < 0 || local < 0 || local >= size) {
                throw new FormatException(
                        path, "corrupt zip archive: entry " + name + " has impossible sizes or offset");
            }
            out.put(name, new Entry(name, method, crc, compressed, plain, local));
            p += 46 + nameLength + extraLength + commentLength;
        }
        return out;
    }

    private ByteBuffer readAt(long position, int length) throws IOException {
        return read(path, channel, position, length);
    }

    private static ByteBuffer read(Path path, FileChannel ch, long position, int length) throws IOException {
        if (position < 0 || position + length > ch.size()) {
            throw new FormatException(
                    path, "corrupt zip archive: " + length + " bytes at offset " + position + " lie outside the file");
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        long pos = position;
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new FormatException(path, "unexpected end of file at byte " + pos);
            }
            pos += n;
        }
        return b.flip();
    }

    /** Closes the file; regions already read stay valid. */
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
