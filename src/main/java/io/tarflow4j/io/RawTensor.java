package io.tarflow4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense, contiguous (row-major) tensor as plain bytes: an element type, a shape and exactly
 * {@code numel * dtype.byteSize()} little-endian bytes, of any size.
 *
 * <p>The bytes are a {@link ByteRegion}: shared, not copied, and read-only when they come from
 * the readers in this package (slices of a file mapping). Equality compares the dtype, the shape
 * and the bytes (so two NaNs with the same bit pattern are equal, and {@code 0.0f} differs from
 * {@code -0.0f}).
 *
 * @param dtype element type
 * @param shape dimensions, each non-negative; an empty array is a scalar
 * @param bytes the elements, little-endian, exactly {@code numel() * dtype.byteSize()} bytes
 */
public record RawTensor(DType dtype, long[] shape, ByteRegion bytes) {

    /**
     * Validates the shape against the data size and keeps a copy of the shape.
     *
     * @throws IllegalArgumentException if a dimension is negative, the element count overflows
     *     a long, or the region holds a different number of bytes than the shape requires
     */
    public RawTensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(bytes, "bytes");
        shape = shape.clone();
        long need = byteCount(dtype, shape);
        if (bytes.size() != need) {
            throw new IllegalArgumentException("tensor " + dtype + Arrays.toString(shape) + " needs " + need
                    + " bytes, buffer has " + bytes.size());
        }
    }

    /**
     * A tensor over the remaining bytes of a buffer (shared, not copied).
     *
     * @param dtype element type
     * @param shape dimensions
     * @param data the elements, little-endian, between position and limit
     * @throws IllegalArgumentException as the canonical constructor
     */
    public RawTensor(DType dtype, long[] shape, ByteBuffer data) {
        this(dtype, shape, ByteRegion.of(data));
    }

    /**
     * Returns the number of bytes a tensor of this dtype and shape occupies.
     *
     * @param dtype element type
     * @param shape dimensions
     * @return {@code product(shape) * dtype.byteSize()}
     * @throws IllegalArgumentException if a dimension is negative or the size overflows a long
     */
    public static long byteCount(DType dtype, long[] shape) {
        try {
            return Math.multiplyExact(numel(shape), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor size overflows: " + Arrays.toString(shape), e);
        }
    }

    /**
     * Returns the number of elements of a shape.
     *
     * @param shape dimensions
     * @return the product of the dimensions, 1 for a scalar
     * @throws IllegalArgumentException if a dimension is negative or the product overflows a long
     */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("element count overflows: " + Arrays.toString(shape), e);
            }
        }
        return n;
    }

    /**
     * Returns the number of elements.
     *
     * @return the product of the dimensions, 1 for a scalar
     */
    public long numel() {
        return numel(shape);
    }

    /**
     * Returns a copy of the shape.
     *
     * @return the dimensions
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Returns the bytes as one little-endian buffer positioned at zero (a view where the region
     * is one piece, else a copy).
     *
     * @return a new buffer on every call
     * @throws IllegalStateException if the tensor is larger than one buffer can hold (2 GiB); use
     *     {@link #bytes()} then
     */
    public ByteBuffer data() {
        return bytes.asBuffer();
    }

    /**
     * Creates an F32 tensor.
     *
     * @param shape dimensions
     * @param values the elements in row-major order
     * @return a tensor backed by a new heap buffer
     * @throws IllegalArgumentException if the number of values does not match the shape
     */
    public static RawTensor ofFloats(long[] shape, float[] values) {
        ByteBuffer b = allocate(DType.F32, shape, values.length);
        b.asFloatBuffer().put(values);
        return new RawTensor(DType.F32, shape, b);
    }

    /**
     * Creates an I64 tensor.
     *
     * @param shape dimensions
     * @param values the elements in row-major order
     * @return a tensor backed by a new heap buffer
     * @throws IllegalArgumentException if the number of values does not match the shape
     */
    public static RawTensor ofLongs(long[] shape, long[] values) {
        ByteBuffer b = allocate(DType.I64, shape, values.length);
        b.asLongBuffer().put(values);
        return new RawTensor(DType.I64, shape, b);
    }

    /**
     * Creates an I32 tensor.
     *
     * @param shape dimensions
     * @param values the elements in row-major order
     * @return a tensor backed by a new heap buffer
     * @throws IllegalArgumentException if the number of values does not match the shape
     */
    public static RawTensor ofInts(long[] shape, int[] values) {
        ByteBuffer b = allocate(DType.I32, shape, values.length);
        b.asIntBuffer().put(values);
        return new RawTensor(DType.I32, shape, b);
    }

    private static ByteBuffer allocate(DType dtype, long[] shape, int count) {
        long n = numel(shape);
        if (n != count) {
            throw new IllegalArgumentException(
                    "shape " + Arrays.toString(shape) + " has " + n + " elements, got " + count + " values");
        }
        return ByteBuffer.allocate(Math.multiplyExact(count, dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Converts the elements to floats: F16 and BF16 exactly, F64 and I64/I32 with rounding to
     * nearest, U8 as unsigned, BOOL as 0 or 1.
     *
     * @return a new array in row-major order
     * @throws IllegalStateException if the tensor has more than {@code Integer.MAX_VALUE - 8}
     *     elements
     */
    public float[] toFloatArray() {
        int n = arrayLength();
        float[] out = new float[n];
        ByteBuffer b = data();
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(b.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(8 * i);
                }
            }
            case I64, I32, I16, I8, U8, BOOL -> {
                for (int i = 0; i < n; i++) {
                    out[i] = integerAt(b, i);
                }
            }
        }
        return out;
    }

    /**
     * Converts integer elements to longs (U8 as unsigned, BOOL as 0 or 1).
     *
     * @return a new array in row-major order
     * @throws IllegalStateException if the dtype is floating point or the tensor is too large for
     *     an array
     */
    public long[] toLongArray() {
        int n = arrayLength();
        long[] out = new long[n];
        ByteBuffer b = data();
        if (dtype == DType.I64) {
            b.asLongBuffer().get(out);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = integerAt(b, i);
            }
        }
        return out;
    }

    /**
     * Converts integer elements to ints (U8 as unsigned, BOOL as 0 or 1).
     *
     * @return a new array in row-major order
     * @throws IllegalStateException if the dtype is floating point or the tensor is too large for
     *     an array
     * @throws ArithmeticException if an I64 element does not fit in an int
     */
    public int[] toIntArray() {
        int n = arrayLength();
        int[] out = new int[n];
        ByteBuffer b = data();
        if (dtype == DType.I32) {
            b.asIntBuffer().get(out);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = Math.toIntExact(integerAt(b, i));
            }
        }
        return out;
    }

    /** Element {@code i} of an integer or BOOL tensor (U8 and BOOL unsigned). */
    private long integerAt(ByteBuffer b, int i) {
        return switch (dtype) {
            case I64 -> b.getLong(8 * i);
            case I32 -> b.getInt(4 * i);
            case I16 -> b.getShort(2 * i);
            case I8 -> b.get(i);
            case U8, BOOL -> b.get(i) & 0xFF;
            case F32, F16, BF16, F64 -> throw notInteger();
        };
    }

    private IllegalStateException notInteger() {
        return new IllegalStateException("expected an integer or BOOL tensor, found " + dtype);
    }

    private int arrayLength() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(
                    "tensor " + Arrays.toString(shape) + " has " + n + " elements, too many for a Java array");
        }
        return (int) n;
    }

    /**
     * Compares dtype, shape and bytes.
     *
     * @param o another object
     * @return true if {@code o} is a tensor with the same dtype, shape and bytes
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof RawTensor t
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && bytes.contentEquals(t.bytes);
    }

    /**
     * Hashes dtype, shape and bytes consistently with {@link #equals(Object)}.
     *
     * @return the hash code
     */
    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), bytes.contentHash());
    }

    /**
     * Describes the dtype and shape (not the data).
     *
     * @return for example {@code RawTensor[F32, [3, 1, 8, 8]]}
     */
    @Override
    public String toString() {
        return "RawTensor[" + dtype + ", " + Arrays.toString(shape) + "]";
    }
}
