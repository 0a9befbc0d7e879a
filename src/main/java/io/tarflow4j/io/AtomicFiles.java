package io.tarflow4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes files atomically: the content goes to a new temporary file in the target's directory,
 * is forced to the storage device, and then replaces the target by an atomic rename. Readers see
 * either the old complete file or the new complete file, never a partial one; if writing fails
 * the temporary file is deleted and an existing target is left untouched.
 *
 * <p>The temporary file is created with the default permissions (subject to the umask), so the
 * result has the same permissions a plain {@code Files.write} would give a new file.
 */
public final class AtomicFiles {

    /** Produces the content of a file on a byte stream. */
    @FunctionalInterface
    public interface StreamBody {
        /**
         * Writes the whole content.
         *
         * @param out the stream to the temporary file; do not close it
         * @throws IOException if producing or writing the content fails
         */
        void writeTo(OutputStream out) throws IOException;
    }

    /** Produces the content of a file on a file channel (for large buffers). */
    @FunctionalInterface
    public interface ChannelBody {
        /**
         * Writes the whole content, sequentially from position zero.
         *
         * @param channel the channel of the temporary file; do not close it
         * @throws IOException if producing or writing the content fails
         */
        void writeTo(FileChannel channel) throws IOException;
    }

    private static final Pattern TEMPORARY =
            Pattern.compile("\\..+\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.tmp");

    private AtomicFiles() {}

    /**
     * Atomically replaces {@code target} with the given bytes.
     *
     * @param target the file to create or replace
     * @param bytes the complete content
     * @throws IOException naming {@code target} if it cannot be written; the old file is kept
     */
    public static void write(Path target, byte[] bytes) throws IOException {
        Objects.requireNonNull(bytes, "bytes");
        writeChannel(target, ch -> writeFully(ch, ByteBuffer.wrap(bytes)));
    }

    /**
     * Atomically replaces {@code target} with what {@code body} writes to a buffered stream.
     *
     * @param target the file to create or replace
     * @param body writes the complete content
     * @throws IOException naming {@code target} if it cannot be written, or the exception of
     *     {@code body}; in either case the old file is kept
     */
    public static void write(Path target, StreamBody body) throws IOException {
        Objects.requireNonNull(body, "body");
        writeChannel(target, ch -> {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            body.writeTo(out);
            out.flush();
        });
    }

    /**
     * Atomically replaces {@code target} with what {@code body} writes to a file channel.
     *
     * @param target the file to create or replace
     * @param body writes the complete content
     * @throws IOException naming {@code target} if it cannot be written, or the exception of
     *     {@code body}; in either case the old file is kept
     */
    public static void writeChannel(Path target, ChannelBody body) throws IOException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(body, "body");
        Path absolute = target.toAbsolutePath().normalize();
        Path dir = absolute.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IOException(
                    "cannot write " + target + ": directory " + dir + " does not exist or is not a directory");
        }
        if (Files.isDirectory(absolute)) {
            throw new IOException("cannot write " + target + ": it is a directory");
        }
        Path tmp = createTemp(dir, absolute.getFileName().toString(), target);
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                body.writeTo(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot write " + target + ": the file system does not support atomic rename", e);
            } catch (IOException e) {
                throw new IOException("cannot write " + target + ": " + e, e);
            }
            moved = true;
            forceDirectory(dir);
        } catch (UncheckedIOException e) {
            throw new IOException("cannot write " + target + ": " + e.getCause(), e.getCause());
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original failure matters more than a leftover temporary file
                }
            }
        }
    }

    /**
     * Writes all remaining bytes of a buffer to a channel.
     *
     * @param channel the destination
     * @param buffer the bytes; its position advances to its limit
     * @throws IOException if the channel fails
     */
    public static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /**
     * Creates an empty temporary file beside {@code target}, named like the ones this class
     * writes through ({@code .NAME.UUID.tmp}), for content that is assembled before the target
     * is written. The caller deletes it.
     *
     * @param target the file the temporary content is for
     * @return the new empty file
     * @throws IOException naming {@code target} if no file can be created
     */
    public static Path createTemporary(Path target) throws IOException {
        Path absolute = target.toAbsolutePath().normalize();
        return createTemp(absolute.getParent(), absolute.getFileName().toString(), target);
    }

    /**
     * Whether {@code fileName} is one of the temporary files this class writes
     * ({@code .NAME.UUID.tmp}), as a process that died mid-write leaves them.
     */
    public static boolean isTemporary(String fileName) {
        return TEMPORARY.matcher(fileName).matches();
    }

    /**
     * Deletes the temporary files a crashed writer left in {@code dir} (not its sub-folders). Only
     * safe while no other process writes there (a training run holds the folder's lock).
     *
     * @return the names deleted
     */
    public static List<String> removeTemporaries(Path dir) throws IOException {
        List<String> removed = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return removed;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (isTemporary(name) && Files.isRegularFile(p) && Files.deleteIfExists(p)) {
                    removed.add(name);
                }
            }
        }
        return removed;
    }

    private static Path createTemp(Path dir, String name, Path target) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + name + "." + UUID.randomUUID() + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 8) {
                    throw new IOException("cannot write " + target + ": no free temporary name", e);
                }
            } catch (IOException e) {
                throw new IOException(
                        "cannot write " + target + ": cannot create a temporary file in " + dir + " (" + e + ")", e);
            }
        }
    }

    private static void forceDirectory(Path dir) {
        // Makes the rename durable on POSIX systems; not supported everywhere (e.g. Windows).
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // the rename itself has happened; durability of the directory entry is best effort
        }
    }
}
