package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class BlasKernelsTest {
    private static final Set<String> AVX512 = Set.of("sse", "avx2", "avx512f", "avx512bw", "avx512dq", "avx512vl");

    @Test
    void avx512CoresGetSmallMatrixKernels() {
        assertTrue(BlasKernels.smallMatrixKernels(null, AVX512));
        assertFalse(BlasKernels.smallMatrixKernels(null, Set.of("sse", "avx2", "fma")), "Haswell/Zen 3 class");
        assertFalse(BlasKernels.smallMatrixKernels(null, Set.of("avx512f", "avx512bw")), "incomplete AVX-512");
        assertFalse(BlasKernels.smallMatrixKernels(null, Set.of()), "no /proc/cpuinfo");
    }

    @Test
    void openblasCoretypeOverridesTheFlags() {
        assertFalse(BlasKernels.smallMatrixKernels("Haswell", AVX512), "forced to an AVX2 core");
        assertTrue(BlasKernels.smallMatrixKernels(" SkylakeX ", Set.of()));
        assertTrue(BlasKernels.smallMatrixKernels("COOPERLAKE", Set.of()));
        assertTrue(BlasKernels.smallMatrixKernels("SapphireRapids", Set.of()));
        assertTrue(BlasKernels.smallMatrixKernels("  ", AVX512), "blank: detect from the flags");
    }

    @Test
    void vectorProductsUpToMoreRowsWithTheSmallMatrixKernels() {
        assertTrue(BlasKernels.vectorRows(true) == 4 && BlasKernels.vectorRows(false) == 2);
        assertTrue(BlasKernels.VECTOR_ROWS == BlasKernels.vectorRows(BlasKernels.SMALL_MATRIX));
    }
}
