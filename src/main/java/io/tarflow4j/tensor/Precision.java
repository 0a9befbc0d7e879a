package io.tarflow4j.tensor;

import java.util.Locale;

/**
 * The arithmetic of a forward pass (training step or evaluation) of a float32 model.
 *
 * <ul>
 *   <li>{@link #FLOAT32}: everything in float32, the reference's arithmetic (the default).
 *   <li>{@link #BF16}: mixed precision. The pass runs under CPU bfloat16 autocast, so the
 *       Transformer's matrix products run in bfloat16 on oneDNN (about twice float32's rate on
 *       CPUs with AVX-512 BF16); attention, the affine parameters, the log-determinant, the loss
 *       and (in training) the weights and AdamW stay in float32. The result is still an exact
 *       likelihood, of a flow whose affine parameters are computed at bfloat16 precision.
 * </ul>
 *
 * <pre>{@code
 * try (Autocast a = precision.autocast()) {
 *     ... forward ...
 * }
 * }</pre>
 */
public enum Precision {
    FLOAT32("float32"),
    BF16("bf16");

    private final String flag;

    Precision(String flag) {
        this.flag = flag;
    }

    /** Parses {@code float32} (or {@code fp32}) and {@code bf16} (or {@code bfloat16}). */
    public static Precision parse(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "float32", "fp32" -> FLOAT32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new IllegalArgumentException("--precision must be float32 or bf16, got '" + s + "'");
        };
    }

    /** Opens this precision's autocast region on the current thread (none for float32). */
    public Autocast autocast() {
        return this == BF16 ? Autocast.bfloat16() : Autocast.unchanged();
    }

    /** The name used on the command line and in checkpoints. */
    @Override
    public String toString() {
        return flag;
    }
}
