package io.tarflow4j.cli;

import io.tarflow4j.bench.MatmulCeiling;
import io.tarflow4j.tensor.Runtime;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.global.torch.ScalarType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow bench matmul}: this machine's float32/bf16 matrix-multiply ceiling through libtorch. */
@Command(
        name = "matmul",
        mixinStandardHelpOptions = true,
        description = "Measures GFLOP/s of float32 and bfloat16 matrix products of TarFlow's shapes through libtorch.")
final class BenchMatmulCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--threads", description = "intra-op threads (default: all cores)")
    int threads = java.lang.Runtime.getRuntime().availableProcessors();

    @Option(names = "--rows", description = "rows of the left operand (batch x tokens; default 12544 = 256 x 49)")
    long rows = MatmulCeiling.ROWS;

    @Option(
            names = {"--inner", "-k"},
            description = "inner dimension (default 128)")
    long inner = MatmulCeiling.INNER;

    @Option(names = "--cols", description = "columns of the result (default 512, the MLP width)")
    long cols = MatmulCeiling.COLS;

    @Option(names = "--repeats", description = "timed repetitions (default 20)")
    int repeats = 20;

    @Override
    public Integer call() {
        Runtime.setThreads(threads);
        for (ScalarType dtype : new ScalarType[] {ScalarType.Float, ScalarType.BFloat16}) {
            MatmulCeiling m = MatmulCeiling.measure(dtype, rows, inner, cols, repeats);
            spec.commandLine()
                    .getOut()
                    .printf(
                            "%-8s %dx%d @ %dx%d, %d threads: %.2f ms median, %.1f GFLOP/s%n",
                            m.dtypeName(), rows, inner, inner, cols, threads, m.medianMillis(), m.gflops());
        }
        return 0;
    }
}
