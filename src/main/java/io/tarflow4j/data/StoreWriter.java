package io.tarflow4j.data;

import io.tarflow4j.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Writes an {@link ImageStore}: images are appended one by one to pixel files of at most
 * {@code maxFileBytes} bytes, each first written under a {@code .partial} name and renamed when
 * complete; {@link #finish} writes the index and, last and atomically, the manifest. A store
 * whose writing is interrupted has no manifest, so it never opens as a whole store, and writing
 * again into the same folder starts over.
 *
 * <p>The folder must be new, empty, or hold only the files of a store; a finished store is
 * replaced only when asked to (its manifest is deleted first, so a half-replaced store never
 * opens). Not thread-safe: one thread appends.
 */
public final class StoreWriter implements AutoCloseable {
    /** The default largest pixel file: 1 GiB, rounded down to whole images. */
    public static final long DEFAULT_FILE_BYTES = 1L << 30;
    /** The index file's name. */
    public static final String INDEX = "index.bin";

    private static final String PARTIAL = ".partial";
    private static final Pattern STORE_FILE = Pattern.compile(
            "(pixels-\\d{5}\\.u8|index\\.bin)(\\.partial)?|manifest\\.json|\\.manifest\\.json\\..*\\.tmp");
    private static final int BUFFER_BYTES = 4 << 20;

    private final Path dir;
    private final int channels;
    private final int height;
    private final int width;
    private final List<String> classNames;
    private final int imagesPerFile;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
    private final ByteBuffer indexBuffer = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    private final List<StoreManifest.FileEntry> written = new ArrayList<>();
    private final CRC32C imageCrc = new CRC32C();
    private final CRC32C fileCrc = new CRC32C();
    private final CRC32C indexCrc = new CRC32C();
    private final FileChannel index;
    private FileChannel pixels;
    private int inFile;
    private int count;
    private boolean finished;

    private StoreWriter(Path dir, int channels, int height, int width, List<String> classNames, long maxFileBytes)
            throws IOException {
        this.dir = dir;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.classNames = classNames == null ? null : List.copyOf(classNames);
        long imageBytes = (long) channels * height * width;
        this.imagesPerFile = (int) Math.min(Integer.MAX_VALUE, Math.max(1, maxFileBytes / imageBytes));
        this.index =
                FileChannel.open(dir.resolve(INDEX + PARTIAL), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /**
     * Prepares a folder and starts writing a store into it.
     *
     * @param dir the store folder (created when missing)
     * @param channels channels per image, 1 or 3
     * @param height image height
     * @param width image width
     * @param classNames class names indexed by label, or {@code null} for an unlabelled store
     * @param maxFileBytes the largest pixel file (at least one image per file)
     * @param overwrite whether a finished store in {@code dir} may be replaced
     * @return the writer; {@link #finish} it, or close it to delete what it wrote
     * @throws DataException when {@code dir} holds other files, or a finished store and not {@code overwrite}
     * @throws IOException when the folder cannot be prepared
     */
    public static StoreWriter create(
            Path dir,
            int channels,
            int height,
            int width,
            List<String> classNames,
            long maxFileBytes,
            boolean overwrite)
            throws IOException {
        if (channels != 1 && channels != 3 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException(
                    "expected 1 or 3 channels and a positive size, got " + channels + "x" + height + "x" + width);
        }
        if (classNames != null && classNames.isEmpty()) {
            throw new IllegalArgumentException("a labelled store needs at least one class name");
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new DataException(dir, "expected a folder for the store, found a file");
        }
        Files.createDirectories(dir);
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.sorted().toList();
        }
        for (Path p : entries) {
            if (!STORE_FILE.matcher(p.getFileName().toString()).matches()) {
                throw new DataException(
                        dir,
                        "holds files that are not part of an image store (e.g. " + p.getFileName()
                                + "); choose a new or empty folder");
            }
        }
        Path manifest = dir.resolve(StoreManifest.FILE);
        if (Files.exists(manifest)) {
            if (!overwrite) {
                throw new DataException(dir, "already holds a finished image store; give --overwrite to replace it");
            }
            Files.delete(manifest); // first: from here on the folder never opens as a store
        }
        for (Path p : entries) {
            Files.deleteIfExists(p);
        }
        return new StoreWriter(dir, channels, height, width, classNames, maxFileBytes);
    }

    /**
     * Tells whether a folder holds files a store writer writes (an unfinished store when it has no
     * manifest).
     *
     * @param dir a folder
     * @return true when any entry is named like a store file
     */
    static boolean holdsStoreFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(
                    p -> STORE_FILE.matcher(p.getFileName().toString()).matches());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Returns the images in each pixel file but the last.
     *
     * @return images per file
     */
    public int imagesPerFile() {
        return imagesPerFile;
    }

    /**
     * Returns the images appended so far.
     *
     * @return the count
     */
    public int count() {
        return count;
    }

    /**
     * Appends one image.
     *
     * @param chw {@code channels * height * width} bytes in CHW order
     * @param label its label in {@code [0, classes)}, ignored for an unlabelled store
     * @throws IOException when a file cannot be written
     */
    public void add(byte[] chw, int label) throws IOException {
        int len = channels * height * width;
        if (chw.length != len) {
            throw new IllegalArgumentException("expected an image of " + len + " bytes, got " + chw.length);
        }
        if (finished) {
            throw new IllegalStateException("store writer is finished");
        }
        if (classNames != null && (label < 0 || label >= classNames.size())) {
            throw new IllegalArgumentException(
                    "label " + label + " of image " + count + " is outside [0, " + classNames.size() + ")");
        }
        if (count == Integer.MAX_VALUE) {
            throw new IllegalStateException("a store holds at most " + Integer.MAX_VALUE + " images");
        }
        if (pixels == null) {
            pixels = FileChannel.open(
                    partial(pixelName(written.size())), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            fileCrc.reset();
        }
        for (int off = 0; off < len; ) {
            int n = Math.min(buffer.remaining(), len - off);
            buffer.put(chw, off, n);
            off += n;
            if (!buffer.hasRemaining()) {
                drain(pixels, buffer, fileCrc);
            }
        }
        imageCrc.reset();
        imageCrc.update(chw, 0, len);
        if (indexBuffer.remaining() < ImageStore.INDEX_ENTRY_BYTES) {
            drain(index, indexBuffer, indexCrc);
        }
        indexBuffer.putInt(classNames == null ? -1 : label).putInt((int) imageCrc.getValue());
        count++;
        if (++inFile == imagesPerFile) {
            closePixelFile();
        }
    }

    /**
     * Completes the store: the last pixel file, the index, then the manifest, atomically.
     *
     * @param source what the store was prepared from, in words (kept in the manifest)
     * @param skipped source files left out as unreadable
     * @return the manifest written
     * @throws DataException when no image was added
     * @throws IOException when a file cannot be written
     */
    public StoreManifest finish(String source, List<String> skipped) throws IOException {
        if (count == 0) {
            throw new DataException(dir, "no images to store");
        }
        if (pixels != null) {
            closePixelFile();
        }
        drain(index, indexBuffer, indexCrc);
        index.force(true);
        index.close();
        rename(partial(INDEX), dir.resolve(INDEX));
        StoreManifest m = new StoreManifest(
                count,
                channels,
                height,
                width,
                classNames == null ? List.of() : classNames,
                classNames != null,
                imagesPerFile,
                written,
                new StoreManifest.FileEntry(
                        INDEX, count, (long) count * ImageStore.INDEX_ENTRY_BYTES, indexCrc.getValue()),
                source,
                skipped);
        AtomicFiles.write(dir.resolve(StoreManifest.FILE), m.toJson());
        finished = true;
        return m;
    }

    private void closePixelFile() throws IOException {
        drain(pixels, buffer, fileCrc);
        pixels.force(true);
        pixels.close();
        pixels = null;
        String name = pixelName(written.size());
        rename(partial(name), dir.resolve(name));
        written.add(new StoreManifest.FileEntry(
                name, inFile, (long) inFile * channels * height * width, fileCrc.getValue()));
        inFile = 0;
    }

    private static void drain(FileChannel ch, ByteBuffer b, CRC32C crc) throws IOException {
        b.flip();
        crc.update(b.duplicate());
        AtomicFiles.writeFully(ch, b);
        b.clear();
    }

    private static void rename(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private Path partial(String name) {
        return dir.resolve(name + PARTIAL);
    }

    /**
     * Returns the name of pixel file {@code k}.
     *
     * @param k the file's position, from 0
     * @return {@code pixels-0000k.u8}
     */
    static String pixelName(int k) {
        return String.format("pixels-%05d.u8", k);
    }

    /**
     * Ends writing. Before {@link #finish} this deletes everything written, leaving an empty folder.
     */
    @Override
    public void close() throws IOException {
        if (finished) {
            return;
        }
        if (pixels != null) {
            pixels.close();
        }
        index.close();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (STORE_FILE.matcher(p.getFileName().toString()).matches()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        finished = true;
    }
}
