package io.tarflow4j.cli;

import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Runtime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow bench matmul}: this machine's float32/bf16 matrix-multiply ceiling through libtorch. */
@Command(name = "matmul", mixinStandardHelpOptions = true,
        description = "Measures GFLOP/s of float32 and bfloat16 matrix products of TarFlow's shapes through libtorch.")
final class BenchMatmulCommand implements Callable<Integer> {
    @Option(names = "--threads", description = "intra-op threads (default: all cores)")
    int threads = java.lang.Runtime.getRuntime().availableProcessors();

    @Option(names = "--rows", description = "rows of the left operand (batch x tokens; default 12544 = 256 x 49)")
    long rows = 12544;

    @Option(names = {"--inner", "-k"}, description = "inner dimension (default 128)")
    long inner = 128;

    @Option(names = "--cols", description = "columns of the result (default 512, the MLP width)")
    long cols = 512;

    @Option(names = "--repeats", description = "timed repetitions (default 20)")
    int repeats = 20;

    @Override
    public Integer call() {
        Runtime.setThreads(threads);
        for (torch.ScalarType dtype : new torch.ScalarType[] {torch.ScalarType.Float, torch.ScalarType.BFloat16}) {
            Tensor a = torch.randn(rows, inner).to(dtype);
            Tensor b = torch.randn(inner, cols).to(dtype);
            List<Double> ms = new ArrayList<>();
            for (int i = 0; i < repeats + 3; i++) {
                try (NativeScope s = NativeScope.open()) {
                    long t0 = System.nanoTime();
                    torch.matmul(a, b);
                    if (i >= 3) {
                        ms.add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
            Collections.sort(ms);
            double median = ms.get(ms.size() / 2);
            double gflops = 2.0 * rows * inner * cols / (median * 1e6);
            System.out.printf("%s %dx%d @ %dx%d, %d threads: %.2f ms median, %.1f GFLOP/s%n",
                    dtype == torch.ScalarType.Float ? "float32 " : "bfloat16", rows, inner, inner, cols, threads,
                    median, gflops);
        }
        return 0;
    }
}
