package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.sampling.JacobiStrategy;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tarflow calibrate} end to end: table, strategy file, and sampling with it. */
class CalibrateCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesAStrategyThatSamplingUses() throws Exception {
        Path data = dir.resolve("data");
        Random r = new Random(5);
        for (int c = 0; c < 3; c++) { // the fixture model has 8x8 grey images and 3 classes
            Files.createDirectories(data.resolve("class" + c));
            for (int i = 0; i < 3; i++) {
                BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
                for (int p = 0; p < 64; p++) {
                    img.getRaster().setSample(p % 8, p / 8, 0, r.nextInt(256));
                }
                assertTrue(ImageIO.write(
                        img, "png", data.resolve("class" + c + "/" + i + ".png").toFile()));
            }
        }
        Path strategy = dir.resolve("strategy.json");
        String model = SampleCommandTest.fixture("cond_nvp").toString();
        CliRun cal = CliRun.of(
                "calibrate", "--model", model, "--data", data.toString(), "--n", "6", "--out", strategy.toString());
        assertEquals(0, cal.status(), cal.all());
        assertTrue(cal.out().contains("seq. ms") && cal.out().contains("best Jacobi ms"), cal.out());
        JacobiStrategy s = JacobiStrategy.read(strategy);
        assertEquals(2, s.size());
        for (int b = 0; b < 2; b++) {
            assertTrue(
                    s.metrics().get(b).get("ms_sequential_on_data") > 0,
                    s.metrics().get(b).toString());
            assertTrue(s.block(b).segments() >= 1, s.block(b).toString());
        }
        CliRun sample = CliRun.of(
                "sample",
                "--model",
                model,
                "--n",
                "3",
                "--class",
                "1",
                "--sampler",
                "jacobi",
                "--strategy",
                strategy.toString(),
                "--out",
                dir.resolve("grid.png").toString());
        assertEquals(0, sample.status(), sample.all());
        assertTrue(!sample.out().contains("without a calibrated strategy"), sample.out());
        assertTrue(Files.size(dir.resolve("grid.png")) > 0);
    }

    private static String fixturePath() {
        try {
            return SampleCommandTest.fixture("cond_nvp").toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void missingDataIsNamed() {
        CliRun cal = CliRun.of(
                "calibrate",
                "--model",
                fixturePath(),
                "--data",
                dir.resolve("nowhere").toString(),
                "--out",
                dir.resolve("s.json").toString());
        assertTrue(cal.status() != 0, cal.all());
        assertTrue(cal.all().contains("nowhere"), cal.all());
    }
}
