package io.tarflow4j.sampling;

import java.util.Locale;

/** How a sampler inverts the flow blocks. */
public enum SamplerType {
    /** Token by token with a KV cache: T-1 small steps per block (the reference's loop). */
    SEQUENTIAL,
    /** GS-Jacobi: parallel fixed-point passes over segments of the sequence ({@link JacobiStrategy}). */
    JACOBI;

    /** Parses {@code sequential} or {@code jacobi} (any case). */
    public static SamplerType parse(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "sequential" -> SEQUENTIAL;
            case "jacobi", "gs-jacobi" -> JACOBI;
            default -> throw new IllegalArgumentException("sampler '" + name + "': expected sequential or jacobi");
        };
    }
}
