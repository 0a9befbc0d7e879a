package io.tarflow4j.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AnomalyMethodTest {

    /** Normal images: bits/dim 5..6, compressed 2..3 bits/dim (complexity scores 2.5..3.5). */
    private static AnomalyReference reference() {
        double[] bpd = new double[99];
        double[] compressed = new double[99];
        for (int i = 0; i < 99; i++) {
            bpd[i] = 5 + i / 98.0;
            compressed[i] = 2.5 + ((i * 37) % 99) / 98.0;
        }
        return AnomalyReference.of(bpd, compressed);
    }

    @Test
    void rawAndComplexityNeedNoReference() {
        assertEquals(6.0, AnomalyMethod.RAW.score(6.0, 2.0, null));
        assertEquals(4.0, AnomalyMethod.COMPLEXITY.score(6.0, 2.0, null));
        byte[] black = new byte[64];
        assertEquals(
                6.0 - ContextCoder.bitsPerDim(black, 1, 8, 8),
                AnomalyMethod.COMPLEXITY.score(6.0, black, 1, 8, 8, null),
                1e-12);
        assertThrows(IllegalArgumentException.class, () -> AnomalyMethod.COMBINED.score(6.0, 2.0, null));
        assertEquals(AnomalyMethod.COMBINED, AnomalyMethod.parse("Combined"));
        assertThrows(IllegalArgumentException.class, () -> AnomalyMethod.parse("ratio"));
    }

    @Test
    void combinedFlagsTheUpperTailOfEitherScore() {
        AnomalyReference ref = reference();
        assertEquals(99, ref.size());
        double typical = AnomalyMethod.COMBINED.score(5.5, 2.5, ref); // middle bits/dim, complexity 3.0 (middle)
        double unlikely = AnomalyMethod.COMBINED.score(9.0, 6.0, ref); // complexity 3.0, bits/dim above all
        double simple = AnomalyMethod.COMBINED.score(5.5, 0.5, ref); // complexity 5.0, above all
        double likely = AnomalyMethod.COMBINED.score(4.0, 1.0, ref); // complexity 3.0, bits/dim below all
        // p-values (#{reference >= x} + 1) / (n + 1): the smallest is 1/100, the largest 1
        assertEquals(-2 * (Math.log(0.01) + Math.log(ref.complexityP(3.0))), unlikely, 1e-9);
        assertEquals(-2 * (Math.log(ref.rawP(5.5)) + Math.log(0.01)), simple, 1e-9);
        assertEquals(-2 * Math.log(ref.complexityP(3.0)), likely, 1e-9, "p_raw = 1");
        assertEquals(0.5, ref.rawP(5.5), 0.02);
        assertTrue(typical < unlikely && typical < simple && likely < typical, typical + " " + unlikely + " " + simple);
        assertThrows(IllegalArgumentException.class, () -> AnomalyReference.of(new double[0], new double[0]));
        assertThrows(
                IllegalArgumentException.class, () -> AnomalyReference.of(new double[] {1}, new double[] {Double.NaN}));
    }
}
