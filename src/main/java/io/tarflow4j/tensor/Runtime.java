package io.tarflow4j.tensor;

import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/** Process-wide libtorch settings: threads, seeds and the compute device. */
public final class Runtime {
    private Runtime() {}

    /**
     * Sets libtorch's intra-op thread count (its OpenMP pool, used by element-wise operations,
     * reductions and oneDNN). float32 matrix products run in OpenBLAS, whose own thread count is
     * {@code OPENBLAS_NUM_THREADS} (see {@link BlasThreads}).
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        torch.set_num_threads(threads);
    }

    /** libtorch's intra-op thread count. */
    public static int threads() {
        return torch.get_num_threads();
    }

    /** Seeds libtorch's default generator (CPU and, when present, CUDA). */
    public static void seed(long seed) {
        torch.manual_seed(seed);
    }

    /**
     * The device named {@code name}: {@code cpu}, {@code cuda} or {@code cuda:N}, with a clear
     * error when CUDA is asked for but this build has no CUDA natives or no GPU.
     */
    public static Device device(String name) {
        String n = name.toLowerCase(Locale.ROOT).strip();
        if (n.equals("cpu")) {
            return new Device("cpu");
        }
        if (n.startsWith("cuda")) {
            if (!torch.cuda_is_available()) {
                throw new IllegalArgumentException("device '" + name + "': CUDA is not available"
                        + " (build with -Pcuda for the GPU natives, and run on a machine with a GPU)");
            }
            return new Device(n);
        }
        throw new IllegalArgumentException("device '" + name + "': expected cpu, cuda or cuda:N");
    }
}
