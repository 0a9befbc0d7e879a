package io.tarflow4j.tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What OpenBLAS's float32 product does on this CPU, for code that shapes its products to suit it.
 *
 * <p>OpenBLAS picks its kernels for the CPU at start. On AVX-512 cores (its SkylakeX, Cooperlake
 * and Sapphire Rapids kernels, which it also runs on AMD Zen 4) a product of at most
 * {@link #SMALL_PRODUCT} multiply-adds (m * n * k) goes to "small-matrix" kernels that read both
 * operands where they are; a larger one first copies ("packs") them into blocks, on every call. For
 * a weight multiplied by a few rows, the copy costs as much as the multiplication (measured in
 * docs/sampling.md), so {@link InferenceLinear} cuts such products into pieces below the limit.
 */
public final class BlasKernels {
    private BlasKernels() {}

    /** The largest m * n * k that OpenBLAS's small-matrix kernels take (100^3). */
    public static final long SMALL_PRODUCT = 1_000_000L;

    /** Whether this CPU gets OpenBLAS's small-matrix float32 kernels. */
    public static final boolean SMALL_MATRIX = smallMatrixKernels(System.getenv("OPENBLAS_CORETYPE"), cpuFlags());

    /**
     * Whether the CPU has bfloat16 instructions (AVX-512 BF16 or AMX); without them bf16 matrix
     * products are emulated, far slower than float32 ones.
     */
    public static final boolean NATIVE_BF16 =
            cpuFlags().contains("avx512_bf16") || cpuFlags().contains("amx_bf16");

    /**
     * Up to this many rows a product by a weight goes faster as one matrix-vector product per
     * row ({@code sgemv}, which streams the weight once and copies nothing) than as one matrix
     * product, which packs the weight (or, with the small-matrix kernels, runs as many small
     * pieces). Chosen by measurement for each kernel set (docs/sampling.md, batch 1).
     */
    public static final int VECTOR_ROWS = vectorRows(SMALL_MATRIX);

    /** {@link #VECTOR_ROWS} for the kernel set: 4 with the small-matrix kernels, else 2. */
    static int vectorRows(boolean smallMatrix) {
        return smallMatrix ? 4 : 2;
    }

    /**
     * Whether OpenBLAS runs small-matrix kernels: with {@code OPENBLAS_CORETYPE} set, when it
     * names one of the AVX-512 cores; otherwise when the CPU has the AVX-512 subsets those
     * kernels need (F, BW, DQ, VL), as OpenBLAS's own core detection requires.
     */
    static boolean smallMatrixKernels(String coreType, Set<String> flags) {
        if (coreType != null && !coreType.isBlank()) {
            String core = coreType.strip().toLowerCase(Locale.ROOT);
            return core.equals("skylakex") || core.equals("cooperlake") || core.equals("sapphirerapids");
        }
        return flags.containsAll(Set.of("avx512f", "avx512bw", "avx512dq", "avx512vl"));
    }

    /** The CPU's feature flags from /proc/cpuinfo (empty where there is none). */
    static Set<String> cpuFlags() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags"))
                    .findFirst()
                    .map(l -> Stream.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+"))
                            .collect(Collectors.toSet()))
                    .orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of(); // not Linux, or unreadable: assume the packed path everywhere
        }
    }
}
