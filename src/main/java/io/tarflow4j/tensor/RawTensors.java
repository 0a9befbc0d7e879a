package io.tarflow4j.tensor;

import io.tarflow4j.io.DType;
import io.tarflow4j.io.RawTensor;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Conversions between the file formats' {@link RawTensor} and libtorch tensors. */
public final class RawTensors {
    private RawTensors() {}

    /** A CPU tensor holding a copy of {@code raw} with its dtype and shape. */
    public static Tensor toTensor(RawTensor raw) {
        return Tensors.fromBytes(raw.data(), scalarType(raw.dtype()), raw.shape());
    }

    /** A copy of a tensor's contents in file form. */
    public static RawTensor fromTensor(Tensor t) {
        return new RawTensor(dtype(Tensors.dtype(t)), Tensors.shape(t), Tensors.toBytes(t.detach()));
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
