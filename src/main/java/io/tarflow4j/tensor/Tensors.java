package io.tarflow4j.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Conversions between Java arrays and libtorch tensors, and shape helpers. */
public final class Tensors {
    private Tensors() {}

    /** A new float32 CPU tensor holding a copy of {@code values}, viewed with {@code shape}. */
    public static Tensor fromFloats(float[] values, long... shape) {
        checkCount(values.length, shape);
        Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Float), new MemoryFormatOptional());
        new FloatPointer(t.data_ptr()).capacity(values.length).put(values);
        return t;
    }

    /** A new float64 CPU tensor holding a copy of {@code values}, viewed with {@code shape}. */
    public static Tensor fromDoubles(double[] values, long... shape) {
        checkCount(values.length, shape);
        Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Double), new MemoryFormatOptional());
        new DoublePointer(t.data_ptr()).capacity(values.length).put(values);
        return t;
    }

    /**
     * Copies the first {@code count} values of {@code values} into the first {@code count}
     * elements of {@code target}, a contiguous float32 CPU tensor (a buffer kept across batches).
     */
    public static void copyInto(Tensor target, float[] values, int count) {
        if (!target.is_contiguous()
                || !target.device().is_cpu()
                || dtype(target) != ScalarType.Float
                || count > target.numel()
                || count > values.length) {
            throw new IllegalArgumentException("copyInto needs a contiguous float32 CPU tensor of at least " + count
                    + " elements, got " + Arrays.toString(shape(target)) + " " + dtype(target));
        }
        new FloatPointer(target.data_ptr()).capacity(count).put(values, 0, count);
    }

    /** A new int64 CPU tensor holding a copy of {@code values}, viewed with {@code shape}. */
    public static Tensor fromLongs(long[] values, long... shape) {
        checkCount(values.length, shape);
        Tensor t = torch.empty(shape, new TensorOptions(ScalarType.Long), new MemoryFormatOptional());
        new LongPointer(t.data_ptr()).capacity(values.length).put(values);
        return t;
    }

    /** A new int64 CPU tensor of shape (n) from int labels. */
    public static Tensor labels(int[] values) {
        long[] l = new long[values.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = values[i];
        }
        return fromLongs(l, l.length);
    }

    /**
     * A new CPU tensor of the given libtorch dtype holding a copy of {@code bytes}
     * (little-endian raw data, exactly numel times the element size).
     */
    public static Tensor fromBytes(ByteBuffer bytes, ScalarType dtype, long... shape) {
        Tensor t = torch.empty(shape, new TensorOptions(dtype), new MemoryFormatOptional());
        long nbytes = t.nbytes();
        if (bytes.remaining() != nbytes) {
            throw new IllegalArgumentException("raw data has " + bytes.remaining() + " bytes, shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + nbytes);
        }
        new BytePointer(t.data_ptr()).capacity(nbytes).asBuffer().put(bytes.duplicate());
        return t;
    }

    /** The raw little-endian bytes of a tensor (copied from a contiguous CPU version). */
    public static ByteBuffer toBytes(Tensor t) {
        Tensor c = cpuContiguous(t);
        long n = c.nbytes();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor of " + n + " bytes is too large for one buffer");
        }
        ByteBuffer out = ByteBuffer.allocate((int) n).order(ByteOrder.LITTLE_ENDIAN);
        if (n > 0) {
            out.put(new BytePointer(c.data_ptr()).capacity(n).asBuffer());
        }
        return out.flip();
    }

    /** The values of a tensor as float32, in row-major order. */
    public static float[] toFloats(Tensor t) {
        Tensor c = cpuContiguous(t.to(ScalarType.Float));
        float[] out = new float[Math.toIntExact(c.numel())];
        if (out.length > 0) {
            new FloatPointer(c.data_ptr()).capacity(out.length).get(out);
        }
        return out;
    }

    /** The values of a tensor as float64, in row-major order. */
    public static double[] toDoubles(Tensor t) {
        Tensor c = cpuContiguous(t.to(ScalarType.Double));
        double[] out = new double[Math.toIntExact(c.numel())];
        if (out.length > 0) {
            new DoublePointer(c.data_ptr()).capacity(out.length).get(out);
        }
        return out;
    }

    /** The values of an integer tensor as int64, in row-major order. */
    public static long[] toLongs(Tensor t) {
        Tensor c = cpuContiguous(t.to(ScalarType.Long));
        long[] out = new long[Math.toIntExact(c.numel())];
        if (out.length > 0) {
            new LongPointer(c.data_ptr()).capacity(out.length).get(out);
        }
        return out;
    }

    /** The values of an integer tensor as int32, in row-major order. */
    public static int[] toInts(Tensor t) {
        Tensor c = cpuContiguous(t.to(ScalarType.Int));
        int[] out = new int[Math.toIntExact(c.numel())];
        if (out.length > 0) {
            new IntPointer(c.data_ptr()).capacity(out.length).get(out);
        }
        return out;
    }

    /** The one value of a single-element tensor. */
    public static double item(Tensor t) {
        return t.item().toDouble();
    }

    /** The shape as a Java array. */
    public static long[] shape(Tensor t) {
        long[] s = new long[(int) t.dim()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.size(i);
        }
        return s;
    }

    /** The libtorch dtype of a tensor, safe to compare with {@code ==}. */
    public static ScalarType dtype(Tensor t) {
        // Enums returned from native code are distinct Java objects until interned.
        return t.scalar_type().intern();
    }

    /** Largest absolute difference between two tensors of one shape (as float64). */
    public static double maxAbsDiff(Tensor a, Tensor b) {
        if (!Arrays.equals(shape(a), shape(b))) {
            throw new IllegalArgumentException(
                    "shapes differ: " + Arrays.toString(shape(a)) + " vs " + Arrays.toString(shape(b)));
        }
        if (a.numel() == 0) {
            return 0;
        }
        return item(a.to(ScalarType.Double).sub(b.to(ScalarType.Double)).abs().max());
    }

    private static Tensor cpuContiguous(Tensor t) {
        Tensor c = t.device().is_cpu() ? t : t.cpu();
        return c.contiguous();
    }

    private static void checkCount(long count, long... shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, s);
        }
        if (n != count) {
            throw new IllegalArgumentException(count + " values do not fill shape " + Arrays.toString(shape));
        }
    }
}
