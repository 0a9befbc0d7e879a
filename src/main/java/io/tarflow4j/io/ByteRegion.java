package io.tarflow4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable run of bytes of any length (Java buffers stop at 2 GiB): consecutive
 * {@link ByteBuffer} pieces of a heap array, native memory or a memory-mapped file.
 *
 * <p>This is how tensor data moves through the file formats without the Java heap: a file's
 * tensors are slices of its mapping, a libtorch tensor is written from views of its own memory.
 * An optional {@code owner} is kept reachable for as long as the region is, for pieces that view
 * memory someone else frees (a native tensor).
 */
public final class ByteRegion {

    /** Pieces of a file mapping are at most this long (a MappedByteBuffer holds at most 2 GiB). */
    static final long MAP_PIECE = 1L << 30;

    private static final ByteRegion EMPTY = new ByteRegion(new ByteBuffer[0], new long[] {0}, null);

    private final ByteBuffer[] pieces;
    /** starts[i] is the offset of piece i; starts[pieces.length] is the size. */
    private final long[] starts;
    private final Object owner;

    private ByteRegion(ByteBuffer[] pieces, long[] starts, Object owner) {
        this.pieces = pieces;
        this.starts = starts;
        this.owner = owner;
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
        List<ByteBuffer> kept = new ArrayList<>(buffers.size());
        for (ByteBuffer b : buffers) {
            if (Objects.requireNonNull(b, "buffer").hasRemaining()) {
                kept.add(b.slice().order(ByteOrder.LITTLE_ENDIAN));
            }
        }
        long[] starts = new long[kept.size() + 1];
        for (int i = 0; i < kept.size(); i++) {
            starts[i + 1] = starts[i] + kept.get(i).remaining();
        }
        return new ByteRegion(kept.toArray(ByteBuffer[]::new), starts, owner);
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
        List<ByteBuffer> out = new ArrayList<>();
        long end = offset + length;
        for (int i = pieceAt(offset); i < pieces.length && starts[i] < end; i++) {
            long from = Math.max(offset, starts[i]) - starts[i];
            long to = Math.min(end, starts[i + 1]) - starts[i];
            out.add(pieces[i].slice((int) from, (int) (to - from)));
        }
        return of(out, owner);
    }

    /**
     * Copies bytes {@code [offset, offset + dst.remaining())} into {@code dst}, advancing its
     * position to its limit.
     *
     * @param offset where to start reading in this region
     * @param dst the destination
     * @throws IndexOutOfBoundsException if the range is outside this region
     */
    public void get(long offset, ByteBuffer dst) {
        Objects.checkFromIndexSize(offset, dst.remaining(), size());
        long pos = offset;
        for (int i = pieceAt(offset); dst.hasRemaining(); i++) {
            int from = (int) (pos - starts[i]);
            int n = (int) Math.min(dst.remaining(), starts[i + 1] - pos);
            dst.put(pieces[i].slice(from, n));
            pos += n;
        }
    }

    /**
     * The bytes as one little-endian buffer positioned at zero: a view when they lie in one
     * piece, else a heap copy.
     *
     * @return the buffer
     * @throws IllegalStateException if the region is larger than a buffer can hold (2 GiB)
     */
    public ByteBuffer asBuffer() {
        if (pieces.length == 1) {
            return pieces[0].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        if (size() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("a region of " + size() + " bytes does not fit one buffer (2 GiB)");
        }
        ByteBuffer copy = ByteBuffer.allocate((int) size()).order(ByteOrder.LITTLE_ENDIAN);
        get(0, copy);
        return copy.flip();
    }

    /**
     * The pieces as little-endian views positioned at zero, in order.
     *
     * @return fresh views of the pieces
     */
    public List<ByteBuffer> pieces() {
        List<ByteBuffer> out = new ArrayList<>(pieces.length);
        for (ByteBuffer p : pieces) {
            out.add(p.duplicate().order(ByteOrder.LITTLE_ENDIAN));
        }
        return out;
    }

    /**
     * Writes all bytes to a channel.
     *
     * @param channel the destination
     * @throws IOException if the channel fails
     */
    public void writeTo(WritableByteChannel channel) throws IOException {
        for (ByteBuffer p : pieces) {
            ByteBuffer b = p.duplicate();
            while (b.hasRemaining()) {
                channel.write(b);
            }
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
        long pos = 0;
        int i = 0;
        int j = 0;
        while (pos < size()) {
            int n = (int) Math.min(starts[i + 1] - pos, other.starts[j + 1] - pos);
            ByteBuffer a = pieces[i].slice((int) (pos - starts[i]), n);
            ByteBuffer b = other.pieces[j].slice((int) (pos - other.starts[j]), n);
            if (!a.equals(b)) {
                return false;
            }
            pos += n;
            if (pos == starts[i + 1]) {
                i++;
            }
            if (pos == other.starts[j + 1]) {
                j++;
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
        int h = 1;
        for (ByteBuffer p : pieces) {
            for (int k = 0; k < p.remaining(); k++) {
                h = 31 * h + p.get(k);
            }
        }
        return h;
    }

    /** Index of the piece holding byte {@code offset} (the last piece for the end offset). */
    private int pieceAt(long offset) {
        int i = Arrays.binarySearch(starts, 0, pieces.length, offset);
        return i >= 0 ? i : -i - 2;
    }
}
