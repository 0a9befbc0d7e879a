package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    @TempDir
    Path tmp;

    @Test
    void unknownPresetIsAUsageErrorNamingTheFlagAndThePresets() {
        CliRun o =
                CliRun.of("train", "--preset", "nope", "--out", tmp.resolve("a").toString());
        assertEquals(2, o.status(), o.err());
        assertTrue(o.err().contains("--preset: unknown preset 'nope'"), o.err());
        assertTrue(o.err().contains("fmnist-small, mnist-toy, imagenet64, imagenet128, afhq256"), o.err());
    }

    @Test
    void garbageNoiseIsAUsageErrorSayingWhatIsExpected() {
        CliRun o = CliRun.of(
                "train", "--noise", "garbage", "--out", tmp.resolve("a").toString());
        assertEquals(2, o.status(), o.err());
        assertTrue(o.err().contains("--noise: noise 'garbage': expected gaussian:SIGMA"), o.err());
    }

    @Test
    void zeroStepsIsAUsageError() {
        CliRun o = CliRun.of("train", "--steps", "0", "--out", tmp.resolve("a").toString());
        assertEquals(2, o.status(), o.err());
        assertTrue(o.err().contains("--steps must be >= 1, got 0"), o.err());
        CliRun both = CliRun.of("train", "--steps", "5", "--minutes", "1");
        assertEquals(2, both.status(), both.err());
        assertTrue(both.err().contains("give --steps or --minutes, not both"), both.err());
    }

    @Test
    void aMissingDataPathIsAnErrorNamingTheFlagAndThePath() {
        Path missing = tmp.resolve("no-such-images-idx3-ubyte.gz");
        Path out = tmp.resolve("out");
        CliRun o = CliRun.of("train", "--data", missing.toString(), "--steps", "1", "--out", out.toString());
        assertEquals(1, o.status(), o.err());
        assertTrue(o.err().contains("error: --data " + missing), o.err());
        assertTrue(o.err().contains("not found"), o.err());
        assertFalse(Files.exists(out), "no run folder for a run that could not start");
    }

    @Test
    void anOutFolderHoldingFilesIsNotReusedSilently() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("taken"));
        Files.writeString(out.resolve("something.txt"), "x");
        CliRun o = CliRun.of(
                "train", "--data", "fashion-mnist", "--test-data", "none", "--steps", "1", "--out", out.toString());
        assertEquals(1, o.status(), o.err());
        assertTrue(o.err().contains("--out " + out + " already holds files"), o.err());
    }

    @Test
    void resumeRefusesRecipeFlagsAndNeedsACheckpoint() {
        CliRun flags = CliRun.of("train", "--resume", tmp.toString(), "--lr", "0.1", "--steps", "10");
        assertEquals(2, flags.status(), flags.err());
        assertTrue(flags.err().contains("--lr cannot be given with --resume"), flags.err());
        CliRun empty = CliRun.of("train", "--resume", tmp.toString(), "--steps", "10");
        assertEquals(1, empty.status(), empty.err());
        assertTrue(empty.err().contains("error: --resume " + tmp + ": no checkpoint.safetensors there"), empty.err());
    }

    @Test
    void benchTrainRejectsZeroSteps() {
        CliRun o = CliRun.of("bench", "train", "--steps", "0");
        assertEquals(2, o.status(), o.err());
        assertTrue(o.err().contains("--steps must be >= 1, got 0"), o.err());
    }
}
