package io.tarflow4j.distributed;

import java.util.Locale;

/** Which c10d backend carries the collectives. */
public enum CommBackend {
    /** Gloo over TCP: CPU tensors (and CUDA tensors, staged through host memory). */
    GLOO,
    /** NCCL: CUDA tensors on GPUs, one GPU per rank (needs the CUDA natives, {@code -Pcuda}). */
    NCCL,
    /** NCCL when training on a CUDA device, else Gloo. */
    AUTO;

    /**
     * Parses {@code gloo}, {@code nccl} or {@code auto} (any case).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static CommBackend parse(String name) {
        return switch (name == null ? "" : name.strip().toLowerCase(Locale.ROOT)) {
            case "gloo" -> GLOO;
            case "nccl" -> NCCL;
            case "auto" -> AUTO;
            default -> throw new IllegalArgumentException("backend '" + name + "': expected gloo, nccl or auto");
        };
    }

    /** The concrete backend for training on a CUDA device ({@code cuda}) or the CPU. */
    public CommBackend resolve(boolean cuda) {
        return this == AUTO ? (cuda ? NCCL : GLOO) : this;
    }

    /** The lower-case name used on the command line. */
    public String flagValue() {
        return name().toLowerCase(Locale.ROOT);
    }
}
