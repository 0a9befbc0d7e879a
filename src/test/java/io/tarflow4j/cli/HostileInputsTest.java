package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.bytedeco.pytorch.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad files and flags a user may give the command line: each refused in one clear line, quickly. */
class HostileInputsTest {
    private static Path fixture(String file) throws Exception {
        return ModelCommandsTest.fixture(file);
    }

    /** A small PNG whose header claims {@code side x side} gray pixels (a decompression bomb). */
    static byte[] pngClaiming(int side) throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13)
                .putInt(side)
                .putInt(side)
                .put((byte) 8)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0)
                .put((byte) 0);
        chunk(png, "IHDR", ihdr.array());
        Deflater d = new Deflater(9);
        d.setInput(new byte[1 << 20]); // the first rows: zeros compress to a few kB
        d.finish();
        byte[] buf = new byte[1 << 16];
        int n = d.deflate(buf);
        chunk(png, "IDAT", java.util.Arrays.copyOf(buf, n));
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** A failed run: status 1 and one error line on stderr (no stack trace). */
    private static String oneLineError(CliRun r) {
        assertEquals(1, r.status(), r.all());
        String err = r.err().strip();
        assertTrue(err.startsWith("error: "), err);
        assertFalse(err.contains("\n"), err);
        return err;
    }

    @Test
    void decompressionBombsAreRefusedByHeaderInScoreAndTrain(@TempDir Path dir) throws Exception {
        Path bomb = dir.resolve("bomb.png");
        Files.write(bomb, pngClaiming(40000));
        long start = System.nanoTime();
        String score = oneLineError(
                CliRun.of("score", "--model", fixture("cond_nvp.safetensors").toString(), bomb.toString()));
        assertTrue(score.contains("40000x40000") && score.contains("--max-image-pixels"), score);

        Path folder = Files.createDirectories(dir.resolve("images"));
        Files.write(folder.resolve("bomb.png"), pngClaiming(40000));
        String train = oneLineError(CliRun.of(
                "train",
                "--data",
                folder.toString(),
                "--test-data",
                "none",
                "--steps",
                "1",
                "--nproc",
                "1",
                "--out",
                dir.resolve("run").toString()));
        assertTrue(train.contains("40000x40000") && train.contains("--max-image-pixels"), train);
        assertTrue((System.nanoTime() - start) / 1e9 < 20, "refused quickly");

        // the flag moves the limit: an 8x8 image is refused under 63 pixels and scored under 64
        Path small = dir.resolve("small.png");
        io.tarflow4j.io.Png.writeImage(small, new float[64], 1, 8, 8);
        assertTrue(oneLineError(CliRun.of(
                        "score",
                        "--model",
                        fixture("cond_nvp.safetensors").toString(),
                        "--max-image-pixels",
                        "63",
                        small.toString()))
                .contains("8x8"));
        CliRun ok = CliRun.of(
                "score",
                "--model",
                fixture("cond_nvp.safetensors").toString(),
                "--max-image-pixels",
                "64",
                small.toString());
        assertEquals(0, ok.status(), ok.all());
    }

    @Test
    void craftedModelMetadataFailsInUnderASecond(@TempDir Path dir) throws Exception {
        Path crafted = dir.resolve("crafted.safetensors");
        try (SafetensorsFile f = Safetensors.read(fixture("cond_nvp.safetensors"))) {
            Map<String, String> meta = new LinkedHashMap<>(f.metadata());
            meta.put("num_blocks", "1000000");
            Safetensors.write(crafted, f.tensors(), meta);
        }
        Path image = dir.resolve("x.png");
        io.tarflow4j.io.Png.writeImage(image, new float[64], 1, 8, 8);
        oneLineError(CliRun.of("score", "--model", crafted.toString(), image.toString())); // loads the classes
        long start = System.nanoTime();
        String err = oneLineError(CliRun.of("score", "--model", crafted.toString(), image.toString()));
        assertTrue((System.nanoTime() - start) / 1e9 < 1, "refused in under a second");
        assertTrue(err.contains("num_blocks"), err);
    }

    @Test
    void nonFiniteWeightsAreRefusedUnlessAllowed(@TempDir Path dir) throws Exception {
        TarFlow model = ModelFile.load(fixture("cond_nvp.safetensors")).model();
        try (GradMode g = GradMode.off()) {
            model.state().get("blocks.0.pos_embed").fill_(new Scalar(Double.POSITIVE_INFINITY));
        }
        Path file = dir.resolve("inf.safetensors");
        ModelFile.save(file, model, Map.of());
        Path image = dir.resolve("x.png");
        io.tarflow4j.io.Png.writeImage(image, new float[64], 1, 8, 8);
        String err = oneLineError(CliRun.of("score", "--model", file.toString(), image.toString()));
        assertTrue(err.contains("blocks.0.pos_embed") && err.contains("--allow-nonfinite"), err);
        CliRun allowed = CliRun.of("score", "--model", file.toString(), "--allow-nonfinite", image.toString());
        assertEquals(0, allowed.status(), allowed.all());
    }

    @Test
    void importAndServeRefuseBadNumbers(@TempDir Path dir) throws Exception {
        String pth = fixture("cond_nvp.pth").toString();
        String out = dir.resolve("x.safetensors").toString();
        CliRun noise = CliRun.of("import", pth, "--out", out, "--noise", "gaussian:-1");
        assertEquals(2, noise.status(), noise.all());
        assertTrue(noise.err().contains("--noise") && noise.err().contains("> 0"), noise.err());
        CliRun head = CliRun.of("import", pth, "--out", out, "--head-dim", "0");
        assertEquals(2, head.status(), head.all());
        assertTrue(head.err().contains("--head-dim must be >= 1"), head.err());
        assertFalse(Files.exists(Path.of(out)));
        String sigma = oneLineError(CliRun.of(
                "serve", "--model", fixture("cond_nvp.safetensors").toString(), "--sigma", "NaN", "--port", "0"));
        assertTrue(sigma.contains("--sigma"), sigma);
        String huge = "x".repeat(9 << 20);
        CliRun longNoise = CliRun.of("import", pth, "--out", out, "--noise", huge);
        assertEquals(2, longNoise.status());
        assertTrue(
                longNoise.err().length() < 2000,
                "the 9 MB value is not echoed: " + longNoise.err().length());
    }

    @Test
    void evalBpdRefusesADatasetOfAnotherSizeUnlessAskedToResize(@TempDir Path dir) throws Exception {
        String model = fixture("cond_nvp.safetensors").toString();
        String err = oneLineError(CliRun.of(
                "eval",
                "bpd",
                "--model",
                model,
                "--data",
                "fashion-mnist-test",
                "--limit",
                "4",
                "--out",
                dir.resolve("a.json").toString()));
        assertTrue(err.contains("28x28") && err.contains("--resize"), err);
        CliRun resized = CliRun.of(
                "eval",
                "bpd",
                "--model",
                model,
                "--data",
                "fashion-mnist-test",
                "--limit",
                "4",
                "--resize",
                "--out",
                dir.resolve("b.json").toString());
        assertEquals(0, resized.status(), resized.all());
    }

    @Test
    void verifyReferenceOnAModelFileSaysItIsNoFixture(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model.safetensors");
        ModelFile.save(model, ModelFile.load(fixture("cond_nvp.safetensors")).model(), Map.of());
        String err = oneLineError(CliRun.of("verify-reference", model.toString()));
        assertTrue(err.contains("not a reference fixture"), err);
    }
}
