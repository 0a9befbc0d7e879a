package io.tarflow4j.tensor;

import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Mixed precision on the CPU: inside {@code try (Autocast a = Autocast.bfloat16()) {...}} libtorch
 * runs matrix products (linear, matmul, attention) in bfloat16 and keeps reductions and
 * normalisations in float32. {@link #float32()} opens a region that computes in full precision
 * again (for the affine parameters, whose exponent and log-determinant need it).
 */
public final class Autocast implements AutoCloseable {
    private final boolean previousEnabled;
    private final ScalarType previousDtype;
    private final boolean changes;

    private Autocast() {
        this.previousEnabled = false;
        this.previousDtype = null;
        this.changes = false;
    }

    private Autocast(boolean enabled) {
        this.changes = true;
        this.previousEnabled = torch.is_autocast_enabled(DeviceType.CPU);
        this.previousDtype = torch.get_autocast_dtype(DeviceType.CPU).intern();
        torch.set_autocast_dtype(DeviceType.CPU, ScalarType.BFloat16);
        torch.set_autocast_enabled(DeviceType.CPU, enabled);
    }

    /** bfloat16 autocast on the CPU until closed. */
    public static Autocast bfloat16() {
        return new Autocast(true);
    }

    /** A region that changes nothing (float32 stays float32, autocast stays as it is). */
    public static Autocast unchanged() {
        return new Autocast();
    }

    /** Full precision until closed (inside an autocast region). */
    public static Autocast float32() {
        return new Autocast(false);
    }

    /** Whether CPU autocast is on for this thread. */
    public static boolean enabled() {
        return torch.is_autocast_enabled(DeviceType.CPU);
    }

    /** Restores the previous setting and, when leaving autocast, drops its cast cache. */
    @Override
    public void close() {
        if (!changes) {
            return;
        }
        torch.set_autocast_enabled(DeviceType.CPU, previousEnabled);
        torch.set_autocast_dtype(DeviceType.CPU, previousDtype);
        if (!previousEnabled) {
            torch.clear_cache();
        }
    }
}
