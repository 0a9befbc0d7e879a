package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tarflow sample} end to end on the fixture models, and its error messages. */
class SampleCommandTest {
    @TempDir
    Path dir;

    static Path fixture(String name) throws Exception {
        return Path.of(SampleCommandTest.class
                .getResource("/fixtures/" + name + ".safetensors")
                .toURI());
    }

    @Test
    void samplesGridImagesRawAndTrace() throws Exception {
        Path grid = dir.resolve("grid.png");
        Path trace = dir.resolve("trace.png");
        Path raw = dir.resolve("raw.safetensors");
        Path images = dir.resolve("images");
        CliRun r = CliRun.of(
                "sample",
                "--model",
                fixture("cond_nvp").toString(),
                "--n",
                "5",
                "--classes",
                "0,2",
                "--cfg",
                "1",
                "--sampler",
                "jacobi",
                "--segments",
                "2",
                "--denoise",
                "--sigma",
                "0.1",
                "--batch",
                "2",
                "--out",
                grid.toString(),
                "--trace",
                trace.toString(),
                "--raw",
                raw.toString(),
                "--images",
                images.toString());
        assertEquals(0, r.status(), r.all());
        assertTrue(r.out().contains("without a calibrated strategy"), "a hint towards calibrate: " + r.out());
        BufferedImage g = ImageIO.read(grid.toFile());
        // 2 rows (classes) x 3 columns of 8x8 images with 2-pixel padding
        assertEquals(3 * 10 + 2, g.getWidth());
        assertEquals(2 * 10 + 2, g.getHeight());
        BufferedImage t = ImageIO.read(trace.toFile());
        // 5 rows; columns: noise, 2 blocks, denoised
        assertEquals(4 * 10 + 2, t.getWidth());
        assertEquals(5 * 10 + 2, t.getHeight());
        try (Stream files = new Stream(images)) {
            assertEquals(5, files.count);
        }
        try (SafetensorsFile f = Safetensors.read(raw)) {
            assertTrue(Arrays.equals(
                    new long[] {5, 1, 8, 8}, f.tensors().get("samples").shape()));
            assertTrue(Arrays.equals(new long[] {5}, f.tensors().get("labels").shape()));
        }
    }

    @Test
    void parallelRowGroupsGiveTheSameSamples() throws Exception {
        float[][] raw = new float[2][];
        int i = 0;
        for (String groups : new String[] {"1", "3"}) {
            Path file = dir.resolve("raw" + groups + ".safetensors");
            CliRun r = CliRun.of(
                    "sample",
                    "--model",
                    fixture("cond_nvp").toString(),
                    "--n",
                    "6",
                    "--cfg",
                    "1",
                    "--class",
                    "1",
                    "--seed",
                    "4",
                    "--parallel",
                    groups,
                    "--out",
                    dir.resolve("g" + groups + ".png").toString(),
                    "--raw",
                    file.toString());
            assertEquals(0, r.status(), r.all());
            try (SafetensorsFile f = Safetensors.read(file)) {
                raw[i++] = f.tensors().get("samples").toFloatArray();
            }
        }
        assertEquals(raw[0].length, raw[1].length);
        for (int k = 0; k < raw[0].length; k++) {
            assertEquals(raw[0][k], raw[1][k], 1e-5, "pixel " + k);
        }
        CliRun bad = CliRun.of(
                "sample",
                "--model",
                fixture("cond_nvp").toString(),
                "--parallel",
                "-1",
                "--out",
                dir.resolve("x.png").toString());
        assertEquals(2, bad.status(), bad.all());
        assertTrue(bad.all().contains("parallel"), bad.all());
    }

    @Test
    void errorsSayWhatToChange() throws Exception {
        String cond = fixture("cond_nvp").toString();
        String uncond = fixture("uncond_nvp_tempguide").toString();
        String out = dir.resolve("g.png").toString();
        CliRun r = CliRun.of("sample", "--model", cond, "--class", "3", "--out", out);
        assertEquals(1, r.status());
        assertTrue(r.all().contains("class 3 is out of range: the model has 3 classes"), r.all());
        r = CliRun.of("sample", "--model", uncond, "--cfg", "1", "--out", out);
        assertEquals(1, r.status());
        assertTrue(r.all().contains("--attn-temp"), r.all());
        r = CliRun.of("sample", "--model", dir.resolve("nope.safetensors").toString(), "--out", out);
        assertEquals(1, r.status());
        assertTrue(r.all().contains("not found"), r.all());
        r = CliRun.of(
                "sample",
                "--model",
                cond,
                "--out",
                dir.resolve("no/such/dir/g.png").toString());
        assertEquals(1, r.status());
        assertTrue(r.all().contains("--out") && r.all().contains("does not exist"), r.all());
        r = CliRun.of("sample", "--model", cond, "--segments", "2", "--out", out);
        assertEquals(2, r.status());
        assertTrue(r.all().contains("--sampler jacobi"), r.all());
        r = CliRun.of("sample", "--model", cond, "--denoise", "--out", out);
        assertEquals(2, r.status());
        assertTrue(r.all().contains("--sigma"), r.all());
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{}");
        r = CliRun.of("sample", "--model", cond, "--sampler", "jacobi", "--strategy", bad.toString(), "--out", out);
        assertEquals(1, r.status());
        assertTrue(r.all().contains(bad.toString()), r.all());
        assertTrue(Files.notExists(dir.resolve("g.png")));
    }

    /** Counts the files of a directory. */
    private static final class Stream implements AutoCloseable {
        final long count;

        Stream(Path d) throws java.io.IOException {
            try (var s = Files.list(d)) {
                count = s.count();
            }
        }

        @Override
        public void close() {}
    }
}
