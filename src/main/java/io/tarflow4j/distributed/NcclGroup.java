package io.tarflow4j.distributed;

import java.time.Duration;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.Store;

/**
 * Creates an NCCL process group. Kept in its own class so that the CPU build, which has no NCCL
 * natives, never loads {@code ProcessGroupNCCL} unless NCCL is asked for.
 */
final class NcclGroup {
    private NcclGroup() {}

    static Backend create(Store store, int rank, int worldSize, Duration timeout) {
        try {
            var options = org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options.create();
            options.timeout(new Milliseconds(timeout.toMillis()));
            return new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(store, rank, worldSize, options);
        } catch (LinkageError e) {
            throw new DistributedException(
                    "backend nccl: this build has no NCCL natives (build with -Pcuda): " + e.getMessage(), e);
        }
    }
}
