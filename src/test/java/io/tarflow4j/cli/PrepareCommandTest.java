package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.training.TrainingOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PrepareCommandTest {
    @TempDir
    Path tmp;

    /** A .npy of {@code n} random 8x8 RGB images in NHWC layout, as numpy.save writes it. */
    private Path npy(int n) throws IOException {
        String dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + n + ", 8, 8, 3), }";
        String header = dict + " ".repeat(64 - (10 + dict.length() + 1) % 64) + "\n";
        byte[] pixels = new byte[n * 192];
        new Random(1).nextBytes(pixels);
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + pixels.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(pixels);
        Path file = tmp.resolve("images.npy");
        Files.write(file, b.array());
        return file;
    }

    @Test
    void prepareThenTrainOnTheStoreThenVerifyIt() throws IOException {
        Path store = tmp.resolve("store");
        CliRun prepared = CliRun.of("prepare", npy(40).toString(), "--out", store.toString());
        assertEquals(0, prepared.status(), prepared.all());
        assertTrue(prepared.out().contains("40 x 3x8x8, unlabelled"), prepared.out());
        assertTrue(prepared.err().contains("images/s"), "the progress bar shows the rate: " + prepared.err());

        CliRun again = CliRun.of("prepare", tmp.resolve("images.npy").toString(), "--out", store.toString());
        assertEquals(1, again.status());
        assertTrue(again.err().contains("already holds a finished image store; give --overwrite"), again.err());

        Path run = tmp.resolve("run");
        CliRun train = CliRun.of(
                "train",
                "--preset",
                "fmnist-small",
                "--data",
                store.toString(),
                "--test-data",
                "none",
                "--image-size",
                "8",
                "--channels",
                "3",
                "--patch",
                "4",
                "--width",
                "16",
                "--blocks",
                "1",
                "--layers",
                "1",
                "--head-dim",
                "8",
                "--unconditional",
                "--batch",
                "8",
                "--steps",
                "2",
                "--sample-every",
                "0",
                "--nproc",
                "1",
                "--out",
                run.toString());
        assertEquals(0, train.status(), train.all());
        assertTrue(Files.exists(run.resolve("checkpoint.safetensors")));

        CliRun verify = CliRun.of("prepare", "--verify", store.toString());
        assertEquals(0, verify.status(), verify.all());
        assertTrue(verify.out().contains("match their checksums"), verify.out());
    }

    @Test
    void aStoreOfAnotherShapeIsRefusedNamingTheFlagAndTheStore() throws IOException {
        Path store = tmp.resolve("s");
        assertEquals(
                0,
                CliRun.of("prepare", npy(4).toString(), "--out", store.toString())
                        .status());
        CliRun o = CliRun.of(
                "train",
                "--data",
                store.toString(),
                "--test-data",
                "none",
                "--steps",
                "1",
                "--nproc",
                "1",
                "--out",
                tmp.resolve("r").toString());
        assertEquals(1, o.status());
        assertTrue(o.err().contains("--data " + store) && o.err().contains("3x8x8 images, asked for 1x28x28"), o.err());
        assertFalse(Files.exists(tmp.resolve("r")));
    }

    @Test
    void scoreTakesAStoreAndNamesEachImageByItsIndex() throws IOException {
        Path store = tmp.resolve("s");
        assertEquals(
                0,
                CliRun.of("prepare", npy(3).toString(), "--out", store.toString())
                        .status());
        Path model = tmp.resolve("m.safetensors");
        io.tarflow4j.checkpoint.ModelFile.save(
                model,
                new io.tarflow4j.model.TarFlow(io.tarflow4j.model.TarFlowConfig.of(3, 8, 4, 64, 1, 1, true, 0)),
                java.util.Map.of());
        CliRun scored = CliRun.of("score", "--model", model.toString(), "--batch", "2", store.toString());
        assertEquals(0, scored.status(), scored.all());
        String[] lines = scored.out().strip().split("\n");
        assertEquals(4, lines.length, scored.out());
        assertTrue(lines[3].startsWith(store + "#2,"), lines[3]);

        Path gray = tmp.resolve("g.safetensors");
        io.tarflow4j.checkpoint.ModelFile.save(
                gray,
                new io.tarflow4j.model.TarFlow(io.tarflow4j.model.TarFlowConfig.of(1, 8, 4, 64, 1, 1, true, 0)),
                java.util.Map.of());
        CliRun refused = CliRun.of("score", "--model", gray.toString(), store.toString());
        assertEquals(1, refused.status());
        assertTrue(
                refused.err().contains(store + ": the store holds 3x8x8 images, the model takes 1x8x8"), refused.err());
    }

    @Test
    void badFlagsAreUsageErrors() {
        CliRun layout = CliRun.of("prepare", "x.npy", "--out", tmp.resolve("o").toString(), "--layout", "hwc");
        assertEquals(2, layout.status());
        assertTrue(layout.err().contains("--layout must be auto, nhwc, nchw or flat"), layout.err());
        CliRun base = CliRun.of("prepare", "x.npy", "--out", tmp.resolve("o").toString(), "--label-base", "2");
        assertEquals(2, base.status());
        assertTrue(base.err().contains("--label-base must be 0, 1 or auto"), base.err());
        assertEquals(2, CliRun.of("prepare", "x.npy").status(), "--out is required");
    }

    @Test
    void thePaperPresetsFlipByDefaultAsTheReferenceAndNoFlipTurnsItOff() {
        assertTrue(options("--preset", "afhq256", "--data", "d").flip());
        assertTrue(options("--preset", "imagenet64", "--data", "d").flip());
        assertFalse(
                options("--preset", "imagenet64", "--data", "d", "--no-flip").flip());
        assertFalse(options("--preset", "fmnist-small").flip());
        assertTrue(options("--preset", "fmnist-small", "--flip").flip());
        CliRun resumed = CliRun.of("train", "--resume", tmp.toString(), "--no-flip");
        assertEquals(2, resumed.status());
        assertTrue(resumed.err().contains("--flip"), "a resumed run keeps its recorded flips: " + resumed.err());
    }

    private static TrainingOptions options(String... args) {
        TrainCommand command = new TrainCommand();
        new CommandLine(command).parseArgs(args);
        return command.options();
    }
}
