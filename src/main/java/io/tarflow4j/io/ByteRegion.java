package io.tarflow4j.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * An immutable run of bytes of any length (Java buffers stop at 2 GiB): consecutive pieces, each
 * a {@link ByteBuffer} (a heap array, native memory, a memory-mapped file) or a segment of an open
 * file read on demand.
 *
 * <p>This is how tensor data moves through the file formats without the Java heap: a file's
 * tensors are slices of its mapping, a libtorch tensor is written from views of its own memory, a
 * large temporary file is copied by the kernel ({@link #writeTo}) without being mapped. An
 * optional {@code owner} is kept reachable for as long as the region is, for pieces that view
 * memory someone else frees (a native tensor). A file segment is readable while its channel is open.
 */
public final class ByteRegion {

    /** Pieces of a file mapping are at most this long (a MappedByteBuffer holds at most 2 GiB). */
    static final long MAP_PIECE = 1L << 30;

    private static final ByteRegion EMPTY = new ByteRegion(new Piece[0], new long[] {0}, null);

    /** One run of bytes. */
    private sealed interface Piece permits BufferPiece, FilePiece {
        long size();

        Piece slice(long from, long length);

        /** Copies bytes from {@code offset} into all of {@code dst}. */
        void get(long offset, ByteBuffer dst);

        void writeTo(WritableByteChannel channel) throws IOException;
    }

    private record BufferPiece(ByteBuffer buffer) implements Piece {
        @Override
        public long size() {
            return buffer.remaining();
        }

        @Override
        public Piece slice(long from, long length) {
            return new BufferPiece(buffer.slice((int) from, (int) length).order(ByteOrder.LITTLE_ENDIAN));
        }

        @Override
        public void get(long offset, ByteBuffer dst) {
            dst.put(buffer.slice((int) offset, dst.remaining()));
        }

        @Override
        public void writeTo(WritableByteChannel channel) throws IOException {
            ByteBuffer b = buffer.duplicate();
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }
    }

    private record FilePiece(FileChannel channel, long position, long size) implements Piece {
        @Override
        public Piece slice(long from, long length) {
            return new FilePiece(channel, position + from, length);
        }

        @Override
        public void get(long offset, ByteBuffer dst) {
            try {
                long pos = position + offset;
                while (dst.hasRemaining()) {
                    int n = channel.read(dst, pos);
                    if (n < 0) {
                        throw new UncheckedIOException(new EOFException("file ends at byte " + pos));
                    }
                    pos += n;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void writeTo(WritableByteChannel out) throws IOException {
            long done = 0;
            while (done < size) {
                long n = channel.transferTo(position + done, size - done, out);
                if (n <= 0 && channel.size() < position + size) {
                    throw new EOFException("file ends at byte " + channel.size() + ", expected " + (position + size));
                }
                done += n;
            }
        }
    }

    private final Piece[] pieces;
    /** starts[i] is the offset of piece i; starts[pieces.length] is the size. */
    private final long[] starts;

    private final Object owner;

    private ByteRegion(Piece[] pieces, long[] starts, Object owner) {
        this.pieces = pieces;
        this.starts = starts;
        this.owner = owner;
    }

    private static ByteRegion ofPieces(List<Piece> pieces, Object owner) {
        List<Piece> kept = pieces.stream().filter(p -> p.size() > 0).toList();
        long[] starts = new long[kept.size() + 1];
        for (int i = 0; i < kept.size(); i++) {
            starts[i + 1] = starts[i] + kept.get(i).size();
        }
        return new ByteRegion(kept.toArray(Piece[]::new), starts, owner);
    }

    /**
     * A region over the remaining bytes of a buffer (shared, not copied).
     *
     * @param buffer the bytes between its position and limit
     * @return the region
     */
    public static ByteRegion of(ByteBuffer buffer) {
        return of(List.of(buffer), null);
    }

    /**
     * A region over consecutive buffers (shared, not copied).
     *
     * @param buffers each buffer's bytes between its position and limit, in order
     * @param owner an object to keep reachable while the region is, or null
     * @return the region
     */
    public static ByteRegion of(List<ByteBuffer> buffers, Object owner) {
        List<Piece> pieces = new ArrayList<>(buffers.size());
        for (ByteBuffer b : buffers) {
            pieces.add(
                    new BufferPiece(Objects.requireNonNull(b, "buffer").slice().order(ByteOrder.LITTLE_ENDIAN)));
        }
        return ofPieces(pieces, owner);
    }

    /**
     * Maps {@code length} bytes of a file read-only, in pieces of at most 1 GiB. The mapping
     * outlives the channel and is released by the garbage collector.
     *
     * @param channel an open channel of the file
     * @param position where the region starts in the file
     * @param length its length
     * @return the region
     * @throws IOException if the file cannot be mapped
     */
    public static ByteRegion map(FileChannel channel, long position, long length) throws IOException {
        List<ByteBuffer> pieces = new ArrayList<>();
        for (long off = 0; off < length; off += MAP_PIECE) {
            long n = Math.min(MAP_PIECE, length - off);
            pieces.add(channel.map(FileChannel.MapMode.READ_ONLY, position + off, n));
        }
        return of(pieces, null);
    }

    /**
     * A segment of an open file, read on demand and never mapped: for large temporary files that
     * are copied once ({@link #writeTo} lets the kernel copy them) and then deleted. Valid while
     * the channel is open.
     *
     * @param channel an open channel of the file
     * @param position where the region starts in the file
     * @param length its length
     * @return the region
     */
    public static ByteRegion ofFile(FileChannel channel, long position, long length) {
        return ofPieces(List.of(new FilePiece(Objects.requireNonNull(channel, "channel"), position, length)), null);
    }

    /**
     * The empty region.
     *
     * @return a region of zero bytes
     */
    public static ByteRegion empty() {
        return EMPTY;
    }

    /**
     * The number of bytes.
     *
     * @return the size
     */
    public long size() {
        return starts[pieces.length];
    }

    /**
     * A sub-region sharing these bytes.
     *
     * @param offset its start in this region
     * @param length its length
     * @return the sub-region
     * @throws IndexOutOfBoundsException if the range is outside this region
     */
    public ByteRegion slice(long offset, long length) {
        Objects.checkFromIndexSize(offset, length, size());
        if (offset == 0 && length == size()) {
            return this;
        }
        List<Piece> out = new ArrayList<>();
        long end = offset + length;
        for (int i = pieceAt(offset); i < pieces.length && starts[i] < end; i++) {
            long from = Math.max(offset, starts[i]) - starts[i];
            long to = Math.min(end, starts[i + 1]) - starts[i];
            out.add(pieces[i].slice(from, to - from));
        }
        return ofPieces(out, owner);
    }

    /**
     * Copies bytes {@code [offset, offset + dst.remaining())} into {@code dst}, advancing its
     * position to its limit.
     *
     * @param offset where to start reading in this region
     * @param dst the destination
     * @throws IndexOutOfBoundsException if the range is outside this region
     * @throws UncheckedIOException if a file segment cannot be read
     */
    public void get(long offset, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, dst.remaining(), size());
        long pos = offset;
        for (int i = pieceAt(offset); dst.hasRemaining(); i++) {
            int n = (int) Math.min(dst.remaining(), starts[i + 1] - pos);
            ByteBuffer part = dst.slice(dst.position(), n);
            pieces[i].get(pos - starts[i], part);
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    /**
     * The bytes as one little-endian buffer positioned at zero: a view when they are one
     * in-memory piece, else a heap copy.
     *
     * @return the buffer
     * @throws IllegalStateException if the region is larger than a buffer can hold (2 GiB)
     */
    public ByteBuffer asBuffer() {
        if (pieces.length == 1 && pieces[0] instanceof BufferPiece b) {
            return b.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        if (size() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("a region of " + size() + " bytes does not fit one buffer (2 GiB)");
        }
        ByteBuffer copy = ByteBuffer.allocate((int) size()).order(ByteOrder.LITTLE_ENDIAN);
        get(0, copy);
        return copy.flip();
    }

    /**
     * Passes the bytes, in order, to {@code consumer} as buffers of at most 1 GiB (views of
     * in-memory pieces; file segments read in 1 MiB chunks).
     *
     * @param consumer receives each buffer positioned at zero
     */
    public void forEachBuffer(Consumer<ByteBuffer> consumer) {
        for (Piece p : pieces) {
            if (p instanceof BufferPiece b) {
                consumer.accept(b.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN));
            } else {
                ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                for (long off = 0; off < p.size(); off += chunk.capacity()) {
                    chunk.clear().limit((int) Math.min(chunk.capacity(), p.size() - off));
                    p.get(off, chunk);
                    consumer.accept(chunk.flip());
                }
            }
        }
    }

    /**
     * Writes all bytes to a channel.
     *
     * @param channel the destination
     * @throws IOException if a channel fails
     */
    public void writeTo(WritableByteChannel channel) throws IOException {
        for (Piece p : pieces) {
            p.writeTo(channel);
        }
    }

    /**
     * Whether two regions hold the same bytes.
     *
     * @param other another region
     * @return true if the sizes and all bytes are equal
     */
    public boolean contentEquals(ByteRegion other) {
        if (size() != other.size()) {
            return false;
        }
        ByteBuffer a = ByteBuffer.allocate(1 << 16);
        ByteBuffer b = ByteBuffer.allocate(1 << 16);
        for (long off = 0; off < size(); off += a.capacity()) {
            int n = (int) Math.min(a.capacity(), size() - off);
            a.clear().limit(n);
            b.clear().limit(n);
            get(off, a);
            other.get(off, b);
            if (!a.flip().equals(b.flip())) {
                return false;
            }
        }
        return true;
    }

    /**
     * A hash of the bytes consistent with {@link #contentEquals}.
     *
     * @return the hash
     */
    public int contentHash() {
        int[] h = {1};
        forEachBuffer(buf -> {
            for (int k = 0; k < buf.remaining(); k++) {
                h[0] = 31 * h[0] + buf.get(k);
            }
        });
        return h[0];
    }

    /** Index of the piece holding byte {@code offset} (the last piece for the end offset). */
    private int pieceAt(long offset) {
        int i = Arrays.binarySearch(starts, 0, pieces.length, offset);
        return i >= 0 ? i : -i - 2;
    }
}
