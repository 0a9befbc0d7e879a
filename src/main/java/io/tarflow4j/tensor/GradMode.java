package io.tarflow4j.tensor;

import org.bytedeco.pytorch.NoGradGuard;

/** Turns autograd off for a block of code: {@code try (var g = GradMode.off()) { ... }}. */
public final class GradMode implements AutoCloseable {
    private final NoGradGuard guard;

    private GradMode() {
        this.guard = new NoGradGuard();
    }

    /** Whether autograd records operations on this thread. */
    public static boolean enabled() {
        return org.bytedeco.pytorch.GradMode.is_enabled();
    }

    /** Disables gradient recording on this thread until {@link #close()}. */
    public static GradMode off() {
        return new GradMode();
    }

    /** Restores the previous gradient mode. */
    @Override
    public void close() {
        guard.close();
    }
}
