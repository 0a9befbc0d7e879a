package io.tarflow4j.tensor;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Where the few-row product takes which path (its values are checked through model.Linear). */
class InferenceLinearTest {

    @Test
    void piecesOnlyWhereTheWholeProductWouldBePacked() {
        if (!BlasKernels.SMALL_MATRIX) {
            assertTrue(!InferenceLinear.usePieces(32, 128, 512), "no small-matrix kernels: never in pieces");
            return;
        }
        assertTrue(
                InferenceLinear.usePieces(32, 128, 384),
                "32 x 128 x 384 is packed whole; 32 x 128 x 128 pieces are not");
        assertTrue(InferenceLinear.usePieces(32, 512, 128));
        assertTrue(!InferenceLinear.usePieces(32, 128, 128), "already small enough whole");
        assertTrue(!InferenceLinear.usePieces(64, 128, 512), "64 x 128 x 128 pieces would be packed too");
        assertTrue(!InferenceLinear.usePieces(8, 128, 512), "8 x 128 x 512 is small whole");
    }
}
