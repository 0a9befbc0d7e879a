package io.tarflow4j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

/**
 * A prepared image store: a folder written by {@link StoreWriter} ({@code tarflow prepare}) that
 * holds a dataset of any size as raw 8-bit pixels, read image by image with positional reads so
 * that the process's memory does not grow with the dataset (the operating system's page cache does
 * the caching).
 *
 * <p>The folder holds:
 * <ul>
 *   <li>{@code pixels-00000.u8}, {@code pixels-00001.u8}, ...: the images back to back, each
 *       {@code channels x height x width} unsigned bytes in CHW order, {@link
 *       StoreManifest#imagesPerFile()} whole images per file (at most {@link
 *       StoreWriter#DEFAULT_FILE_BYTES} bytes), so a file can also be memory-mapped by other tools
 *       (e.g. {@code numpy.memmap(f, np.uint8).reshape(-1, C, H, W)});</li>
 *   <li>{@code index.bin}: per image 8 bytes, little-endian: the label as int32 (-1 when
 *       unlabelled) and the CRC32C of the image's bytes as uint32;</li>
 *   <li>{@code manifest.json} (see {@link StoreManifest}), written last.</li>
 * </ul>
 *
 * <p>Opening checks the manifest, the presence and exact size of every file, the index's checksum
 * and that every label names a class; it does not read the pixels. Each image's checksum is
 * checked whenever the image is read, so a modified pixel file fails on first use with an error
 * naming it; {@link #verify(int)} checks the whole-file checksums of the manifest. Thread-safe.
 */
public final class ImageStore implements AutoCloseable {
    /** Bytes per image in {@code index.bin}: int32 label, uint32 CRC32C. */
    public static final int INDEX_ENTRY_BYTES = 8;

    private static final int VERIFY_CHUNK = 4 << 20;

    private final Path dir;
    private final StoreManifest manifest;
    private final FileChannel[] files;
    private volatile boolean closed;
    private final int[] labels;
    private final int[] checksums;

    private ImageStore(Path dir, StoreManifest manifest, FileChannel[] files, int[] labels, int[] checksums) {
        this.dir = dir;
        this.manifest = manifest;
        this.files = files;
        this.labels = labels;
        this.checksums = checksums;
    }

    /**
     * Tells whether a folder holds a store's manifest (finished or not, valid or not).
     *
     * @param dir a folder
     * @return true when {@code dir/manifest.json} exists
     */
    public static boolean isStore(Path dir) {
        return Files.isRegularFile(dir.resolve(StoreManifest.FILE));
    }

    /**
     * Opens a store and checks it (see the class comment).
     *
     * @param dir the store folder
     * @return the open store; close it to release the files
     * @throws DataException naming the file at fault: a missing or foreign manifest, another layout
     *     version, a missing or wrongly sized file, an index that fails its checksum, a label out of range
     * @throws IOException when a file cannot be read
     */
    public static ImageStore open(Path dir) throws IOException {
        StoreManifest m = StoreManifest.read(dir);
        Path indexFile = dir.resolve(m.index().name());
        checkSize(indexFile, m.index());
        int[] labels = new int[m.images()];
        int[] checksums = new int[m.images()];
        readIndex(indexFile, m, labels, checksums);
        FileChannel[] channels = new FileChannel[m.pixelFiles().size()];
        try {
            for (int k = 0; k < channels.length; k++) {
                StoreManifest.FileEntry f = m.pixelFiles().get(k);
                Path file = dir.resolve(f.name());
                checkSize(file, f);
                channels[k] = FileChannel.open(file, StandardOpenOption.READ);
            }
        } catch (IOException | RuntimeException e) {
            closeAll(channels);
            throw e;
        }
        return new ImageStore(dir, m, channels, m.labelled() ? labels : null, checksums);
    }

    private static void checkSize(Path file, StoreManifest.FileEntry entry) throws IOException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new DataException(
                    file,
                    "missing: the store's manifest lists it with " + entry.bytes()
                            + " bytes; prepare the store again (tarflow prepare)");
        }
        if (size != entry.bytes()) {
            throw new DataException(
                    file,
                    "is " + size + " bytes, the store's manifest says " + entry.bytes()
                            + " (truncated or replaced); prepare the store again (tarflow prepare)");
        }
    }

    private static void readIndex(Path file, StoreManifest m, int[] labels, int[] checksums) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocate(INDEX_ENTRY_BYTES * 8192).order(ByteOrder.LITTLE_ENDIAN);
        int classes = m.classNames().size();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            int i = 0;
            while (i < m.images()) {
                buffer.clear();
                buffer.limit((int) Math.min(buffer.capacity(), (long) (m.images() - i) * INDEX_ENTRY_BYTES));
                while (buffer.hasRemaining()) {
                    if (ch.read(buffer) < 0) {
                        throw new DataException(
                                file,
                                "ended after " + ch.position() + " bytes, expected "
                                        + m.index().bytes());
                    }
                }
                crc.update(buffer.array(), 0, buffer.limit());
                buffer.flip();
                while (buffer.hasRemaining()) {
                    labels[i] = buffer.getInt();
                    checksums[i++] = buffer.getInt();
                }
            }
        }
        if (crc.getValue() != m.index().crc32c()) {
            throw new DataException(
                    file,
                    String.format(
                            "checksum mismatch: CRC32C %08x, the store's manifest says %08x"
                                    + " (the file was modified or damaged); prepare the store again (tarflow prepare)",
                            crc.getValue(), m.index().crc32c()));
        }
        for (int i = 0; i < labels.length; i++) {
            int label = labels[i];
            if (m.labelled() ? label < 0 || label >= classes : label != -1) {
                throw new DataException(
                        file,
                        "label " + label + " of image " + i + " is outside "
                                + (m.labelled()
                                        ? "[0, " + classes + ") for the " + classes + " classes of "
                                                + StoreManifest.FILE
                                        : "an unlabelled store (expected -1)")
                                + "; prepare the store again (tarflow prepare)");
            }
        }
    }

    /**
     * Returns the store's folder.
     *
     * @return the folder
     */
    public Path dir() {
        return dir;
    }

    /**
     * Returns the manifest.
     *
     * @return what the store holds
     */
    public StoreManifest manifest() {
        return manifest;
    }

    /**
     * Returns the number of images.
     *
     * @return {@code N}
     */
    public int size() {
        return manifest.images();
    }

    /** @return channels per image */
    public int channels() {
        return manifest.channels();
    }

    /** @return image height */
    public int height() {
        return manifest.height();
    }

    /** @return image width */
    public int width() {
        return manifest.width();
    }

    /** @return the class names indexed by label, empty when unlabelled */
    public List<String> classNames() {
        return manifest.classNames();
    }

    /** @return how many source files were skipped as unreadable when the store was prepared */
    public int skipped() {
        return manifest.skipped().size();
    }

    /**
     * Returns the labels.
     *
     * @return a copy of the labels, or {@code null} when unlabelled
     */
    public int[] labels() {
        return labels == null ? null : labels.clone();
    }

    /**
     * Checks that the store holds images of a wanted shape; stores are never resized.
     *
     * @param channels the wanted channels, or 0 for any
     * @param size the wanted square side, or 0 for any
     * @param wanter who wants them, for the message (e.g. "the model takes")
     * @throws DataException naming the store, both shapes and the command that prepares the wanted one
     */
    public void requireShape(int channels, int size, String wanter) throws DataException {
        if ((channels == 0 || channels == channels()) && (size == 0 || size == height() && size == width())) {
            return;
        }
        int c = channels == 0 ? channels() : channels;
        int s = size == 0 ? height() : size;
        throw new DataException(
                dir,
                "the store holds " + channels() + "x" + height() + "x" + width() + " images, "
                        + wanter + " " + c + "x" + s + "x" + s
                        + "; prepare a store of that shape (tarflow prepare --image-size "
                        + s + " --channels " + c + ")");
    }

    /**
     * Reads one image's pixels and checks them against the image's checksum.
     *
     * @param index the image index
     * @param dst the destination
     * @param offset where the image's {@code channels * height * width} bytes go
     * @throws UncheckedIOException wrapping a {@link DataException} naming the pixel file when the
     *     image fails its checksum or the file ends early, or the read's own I/O error
     */
    public void read(int index, byte[] dst, int offset) {
        if (index < 0 || index >= manifest.images()) {
            throw new IndexOutOfBoundsException("image " + index + " of a store of " + manifest.images());
        }
        int len = manifest.imageLength();
        int k = index / manifest.imagesPerFile();
        long position = (long) (index % manifest.imagesPerFile()) * len;
        ByteBuffer buffer = ByteBuffer.wrap(dst, offset, len);
        try {
            FileChannel ch = channel(k);
            while (buffer.hasRemaining()) {
                if (ch.read(buffer, position + buffer.position() - offset) < 0) {
                    throw new DataException(
                            file(k),
                            "ended while reading image " + index + " (it was truncated"
                                    + " after the store was opened)");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    e instanceof DataException
                            ? e
                            : new DataException(file(k), "cannot read image " + index + ": " + e, e));
        }
        CRC32C crc = new CRC32C();
        crc.update(dst, offset, len);
        if ((int) crc.getValue() != checksums[index]) {
            throw new UncheckedIOException(new DataException(
                    file(k),
                    String.format(
                            "checksum mismatch in image %d"
                                    + " (bytes %d to %d): CRC32C %08x, the store's index says %08x (the file was modified or damaged);"
                                    + " prepare the store again (tarflow prepare)",
                            index, position, position + len, crc.getValue(), checksums[index])));
        }
    }

    /**
     * Returns pixel file {@code k}'s channel, reopened when an interrupt of a reading thread closed
     * it (file channels close on interrupt; the batch loader's thread is interrupted to stop it).
     */
    private FileChannel channel(int k) throws IOException {
        FileChannel ch = files[k];
        if (ch.isOpen() || closed) {
            return ch;
        }
        synchronized (files) {
            if (!files[k].isOpen() && !closed) {
                files[k] = FileChannel.open(file(k), StandardOpenOption.READ);
            }
            return files[k];
        }
    }

    private Path file(int k) {
        return dir.resolve(manifest.pixelFiles().get(k).name());
    }

    /**
     * Reads every pixel file whole and compares its CRC32C with the manifest's, the files in
     * parallel.
     *
     * @param threads how many files to read at once (1 or more)
     * @throws DataException naming the first file that differs
     * @throws IOException when a file cannot be read
     */
    public void verify(int threads) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
        try {
            List<Future<Long>> sums = new ArrayList<>();
            for (int k = 0; k < files.length; k++) {
                FileChannel ch = channel(k);
                sums.add(pool.submit(() -> crc32c(ch)));
            }
            for (int k = 0; k < files.length; k++) {
                long expected = manifest.pixelFiles().get(k).crc32c();
                long actual = sums.get(k).get();
                if (actual != expected) {
                    throw new DataException(
                            file(k),
                            String.format(
                                    "checksum mismatch: CRC32C %08x, the store's"
                                            + " manifest says %08x (the file was modified or damaged); prepare the store again"
                                            + " (tarflow prepare)",
                                    actual, expected));
                }
            }
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while verifying " + dir, e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static long crc32c(FileChannel ch) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocateDirect(VERIFY_CHUNK);
        long position = 0;
        int n;
        while ((n = ch.read(buffer.clear(), position)) > 0) {
            position += n;
            crc.update(buffer.flip());
        }
        return crc.getValue();
    }

    /** Closes the pixel files. */
    @Override
    public void close() {
        closed = true;
        synchronized (files) {
            closeAll(files);
        }
    }

    private static void closeAll(FileChannel[] channels) {
        for (FileChannel ch : channels) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // read-only files: nothing is lost
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ImageStore[" + dir + ": " + manifest.describe() + "]";
    }
}
