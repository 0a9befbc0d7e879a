package io.tarflow4j.io;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Element types of raw tensors, named as in the safetensors format. */
public enum DType {
    /** IEEE 754 binary32. */
    F32(4, "F32", true),
    /** IEEE 754 binary16. */
    F16(2, "F16", true),
    /** bfloat16: the upper half of a binary32. */
    BF16(2, "BF16", true),
    /** IEEE 754 binary64. */
    F64(8, "F64", true),
    /** Signed 64-bit integer. */
    I64(8, "I64", false),
    /** Signed 32-bit integer. */
    I32(4, "I32", false),
    /** Signed 16-bit integer. */
    I16(2, "I16", false),
    /** Signed 8-bit integer. */
    I8(1, "I8", false),
    /** Unsigned 8-bit integer. */
    U8(1, "U8", false),
    /** Boolean stored as one byte, 0 or 1. */
    BOOL(1, "BOOL", false);

    private final int byteSize;
    private final String safetensorsName;
    private final boolean floatingPoint;

    DType(int byteSize, String safetensorsName, boolean floatingPoint) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.floatingPoint = floatingPoint;
    }

    /**
     * Returns the size of one element in bytes.
     *
     * @return 1, 2, 4 or 8
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Returns the dtype string used in safetensors headers.
     *
     * @return for example {@code "F32"} or {@code "BOOL"}
     */
    public String safetensorsName() {
        return safetensorsName;
    }

    /**
     * Tells whether this is a floating-point type.
     *
     * @return true for F32, F16, BF16 and F64
     */
    public boolean isFloatingPoint() {
        return floatingPoint;
    }

    /**
     * Parses a safetensors dtype string (case-sensitive, as the format prescribes).
     *
     * @param name the dtype string, for example {@code "I64"}
     * @return the matching dtype
     * @throws IllegalArgumentException if the name is not a supported dtype; the message lists the
     *     supported names
     */
    public static DType parse(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown dtype \"" + name + "\", expected one of "
                + Arrays.stream(values()).map(DType::safetensorsName).collect(Collectors.joining(", ")));
    }
}
