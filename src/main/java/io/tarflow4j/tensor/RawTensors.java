package io.tarflow4j.tensor;

import io.tarflow4j.io.ByteRegion;
import io.tarflow4j.io.DType;
import io.tarflow4j.io.RawTensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Conversions between the file formats' {@link RawTensor} and libtorch tensors. */
public final class RawTensors {
    private RawTensors() {}

    /** Native memory is viewed and copied in pieces of at most this many bytes. */
    private static final long PIECE = 1L << 30;

    /**
     * A CPU tensor holding a copy of {@code raw} with its dtype and shape, of any size: the bytes
     * go straight from the region (a file mapping, say) into the tensor's native memory.
     */
    public static Tensor toTensor(RawTensor raw) {
        Tensor t = torch.empty(raw.shape(), new TensorOptions(scalarType(raw.dtype())), new MemoryFormatOptional());
        copyInto(raw.bytes(), t);
        return t;
    }

    /**
     * Copies a file tensor of the same shape into {@code target} (any dtype, device and layout):
     * straight into its memory when it is a contiguous CPU tensor of the same dtype, else through
     * a converted copy.
     */
    public static void copyInto(RawTensor raw, Tensor target) {
        if (target.is_contiguous()
                && target.device().is_cpu()
                && Tensors.dtype(target) == scalarType(raw.dtype())
                && target.nbytes() == raw.bytes().size()) {
            copyInto(raw.bytes(), target);
        } else {
            target.copy_(toTensor(raw));
        }
    }

    /** The shapes of file tensors, by name in their order. */
    public static Map<String, long[]> shapes(Map<String, RawTensor> tensors) {
        Map<String, long[]> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.shape()));
        return out;
    }

    /**
     * Copies each file tensor into the target of the same name, one at a time (peak memory: the
     * targets plus one tensor), without autograd.
     *
     * @throws IllegalArgumentException naming a source without a target
     */
    public static void copyAll(Map<String, RawTensor> sources, Map<String, Tensor> targets) {
        try (GradMode off = GradMode.off()) {
            for (var e : sources.entrySet()) {
                Tensor target = targets.get(e.getKey());
                if (target == null) {
                    throw new IllegalArgumentException("no tensor " + e.getKey() + " to copy into");
                }
                try (NativeScope scope = NativeScope.open()) {
                    copyInto(e.getValue(), target);
                }
            }
        }
    }

    /** Copies {@code bytes} into the native memory of a contiguous CPU tensor of the same byte size. */
    public static void copyInto(ByteRegion bytes, Tensor t) {
        long n = t.nbytes();
        if (bytes.size() != n || !t.is_contiguous() || !t.device().is_cpu()) {
            throw new IllegalArgumentException("cannot copy " + bytes.size() + " bytes into a tensor of " + n
                    + " bytes (contiguous CPU tensor of the same size expected)");
        }
        for (long off = 0; off < n; off += PIECE) {
            long len = Math.min(PIECE, n - off);
            bytes.get(off, nativeView(t, off, len));
        }
    }

    /**
     * A copy of a tensor's contents in file form on the Java heap (for tensors under 2 GiB; use
     * {@link #view} to write larger ones).
     */
    public static RawTensor fromTensor(Tensor t) {
        return new RawTensor(dtype(Tensors.dtype(t)), Tensors.shape(t), Tensors.toBytes(t.detach()));
    }

    /**
     * The tensor's bytes in file form without copying: views of its native memory (of a
     * contiguous CPU copy when it is neither). Valid only while the tensor's memory lives: for
     * writing it out at once, not for keeping.
     */
    public static RawTensor view(Tensor t) {
        Tensor c = t.detach();
        if (!c.device().is_cpu()) {
            c = c.cpu();
        }
        c = c.contiguous();
        long n = c.nbytes();
        List<ByteBuffer> pieces = new ArrayList<>();
        for (long off = 0; off < n; off += PIECE) {
            pieces.add(nativeView(c, off, Math.min(PIECE, n - off)).asReadOnlyBuffer());
        }
        return new RawTensor(dtype(Tensors.dtype(c)), Tensors.shape(c), ByteRegion.of(pieces, c));
    }

    private static ByteBuffer nativeView(Tensor t, long offset, long length) {
        return new BytePointer(t.data_ptr())
                .position(offset)
                .limit(offset + length)
                .asBuffer();
    }

    /** libtorch's dtype for a file dtype. */
    public static ScalarType scalarType(DType d) {
        return switch (d) {
            case F32 -> ScalarType.Float;
            case F16 -> ScalarType.Half;
            case BF16 -> ScalarType.BFloat16;
            case F64 -> ScalarType.Double;
            case I64 -> ScalarType.Long;
            case I32 -> ScalarType.Int;
            case I16 -> ScalarType.Short;
            case I8 -> ScalarType.Char;
            case U8 -> ScalarType.Byte;
            case BOOL -> ScalarType.Bool;
        };
    }

    /** The file dtype for libtorch's dtype (which must be interned, see {@link Tensors#dtype}). */
    public static DType dtype(ScalarType t) {
        return switch (t) {
            case Float -> DType.F32;
            case Half -> DType.F16;
            case BFloat16 -> DType.BF16;
            case Double -> DType.F64;
            case Long -> DType.I64;
            case Int -> DType.I32;
            case Short -> DType.I16;
            case Char -> DType.I8;
            case Byte -> DType.U8;
            case Bool -> DType.BOOL;
            default -> throw new IllegalArgumentException("no file dtype for libtorch " + t);
        };
    }
}
