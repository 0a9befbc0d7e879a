package io.tarflow4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.training.Preset;
import java.util.List;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

class TargetTableTest {
    /** A float32 ceiling of 132 GFLOP/s: 1.32 GFLOP in 10 ms. */
    private static final MatmulCeiling CEILING = new MatmulCeiling(ScalarType.Float, 1000, 660, 1000, 10);

    @Test
    void trainingRowsGiveTheShareOfTheCeilingAndTheRatio() {
        assertEquals(132.0, CEILING.gflops(), 1e-9);
        double flop = FlopCount.trainingPerImage(Preset.MNIST_TOY.architecture());
        assertEquals(0.991, flop / 1e9, 5e-4, "mnist-toy's 0.991 GFLOP per training image");
        // 100 images/s x 0.991 GFLOP = 99.1 GFLOP/s, 75% of 132
        TargetTable.Row r =
                TargetTable.training("train float32", 100, ReferenceFigures.TRAIN_FLOAT32_IMAGES_PER_S, flop, CEILING);
        assertEquals("72.1 images/s", r.reference());
        assertEquals("100.0 images/s", r.ours());
        assertEquals("1.39x", r.ratio());
        assertEquals("75.1% of float32", r.share());
        assertEquals("75% of ceiling: met", r.target());
        assertTrue(TargetTable.training("t", 90, 72.1, flop, CEILING).target().endsWith("not met"));
        assertTrue(
                TargetTable.training("t", 200, 72.1, flop, CEILING).target().contains("not judged"),
                "a rate above the ceiling judges nothing");
    }

    @Test
    void samplingRowsCompareTimesWithTheReference() {
        TargetTable.Row r =
                TargetTable.sampling("sample", 60, ReferenceFigures.SAMPLE_BATCH1_MS, 132e9 * 0.06 / 100, CEILING);
        assertEquals("194.0 ms", r.reference());
        assertEquals("60.0 ms", r.ours());
        assertEquals("3.23x faster", r.ratio());
        assertEquals("1.0% of float32", r.share());
        assertEquals("3x faster (< 64.7 ms): met", r.target());
        TargetTable.Row none = TargetTable.sampling("guided", 120, Double.NaN, 1e6, CEILING);
        assertEquals("-", none.reference());
        assertEquals("reported", none.target());
        assertEquals(
                "71.3 s",
                TargetTable.sampling("block", 20_000, ReferenceFigures.SAMPLE_WIDTH768_BLOCK_AVX2_MS, 1e9, CEILING)
                        .reference());
    }

    @Test
    void theTableHasAHeaderAndOneLinePerRow() {
        String table = TargetTable.render(List.of(new TargetTable.Row("a", "b", "c", "d", "e", "f")));
        assertEquals(
                "| what | reference | ours | vs reference | share of ceiling | target |\n"
                        + "| --- | --- | --- | --- | --- | --- |\n| a | b | c | d | e | f |\n",
                table);
        assertThrows(IllegalArgumentException.class, () -> new TargetTable.Settings(0, 0, 0, 1, 0));
    }
}
