package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.evaluation.DatasetBpd;
import io.tarflow4j.io.Png;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCommandsTest {
    @TempDir
    static Path dir;

    static Path model;
    static Path images;

    /** The cond_nvp fixture model (8x8x1, 3 classes) and a folder of 8x8 PNGs in 3 class folders. */
    @BeforeAll
    static void setUp() throws Exception {
        Path fixture = Path.of(EvalCommandsTest.class
                .getResource("/fixtures/cond_nvp.safetensors")
                .toURI());
        model = dir.resolve("run").resolve("model.safetensors");
        Files.createDirectories(model.getParent());
        Files.copy(fixture, model, StandardCopyOption.REPLACE_EXISTING);
        images = dir.resolve("images");
        Random r = new Random(4);
        for (String cls : List.of("a", "b", "c")) {
            Files.createDirectories(images.resolve(cls));
            for (int i = 0; i < 2; i++) {
                float[] px = new float[64];
                for (int k = 0; k < px.length; k++) {
                    px[k] = (float) (r.nextDouble() * 2 - 1);
                }
                Png.writeImage(images.resolve(cls).resolve(i + ".png"), px, 1, 8, 8);
            }
        }
    }

    @Test
    void evalBpdWritesJsonBesideTheModel() throws Exception {
        CliRun r = CliRun.of("eval", "bpd", "--model", model.toString(), "--data", images.toString(), "--batch", "4");
        assertEquals(0, r.status(), r.err());
        JsonNode json = new ObjectMapper()
                .readTree(model.resolveSibling("eval-bpd.json").toFile());
        var data = Datasets.open(images.toString(), DataOptions.defaults());
        DatasetBpd.Result direct = DatasetBpd.evaluate(
                ModelFile.load(model).model(),
                data,
                DatasetBpd.Options.of(6, io.tarflow4j.evaluation.Dequantizer.uniform(0)));
        assertEquals(direct.mean(), json.get("bits_per_dim").asDouble(), 1e-5);
        assertEquals(6, json.get("images").asInt());
        assertTrue(json.get("standard_error").asDouble() > 0);
        assertTrue(r.out().contains("bits/dim"), r.out());
        assertTrue(r.err().contains("6/6 images"), r.err());
        assertEquals(
                2,
                CliRun.of("eval", "bpd", "--model", model.toString(), "--batch", "0")
                        .status());
        assertEquals("float32", json.get("precision").asText());

        Path bf16Json = dir.resolve("bf16.json");
        CliRun bf16 = CliRun.of(
                "eval",
                "bpd",
                "--model",
                model.toString(),
                "--data",
                images.toString(),
                "--batch",
                "4",
                "--precision",
                "bf16",
                "--out",
                bf16Json.toString());
        assertEquals(0, bf16.status(), bf16.err());
        JsonNode b = new ObjectMapper().readTree(bf16Json.toFile());
        assertEquals("bf16", b.get("precision").asText());
        double diff = Math.abs(b.get("bits_per_dim").asDouble() - direct.mean());
        assertTrue(diff > 0 && diff < 0.05, "bf16 products change bits/dim slightly: " + diff);
        CliRun bad = CliRun.of("eval", "bpd", "--model", model.toString(), "--precision", "fp16");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--precision") && bad.err().contains("float32 or bf16"), bad.err());
    }

    @Test
    void classifyPrintsAccuracyAndConfusion() throws Exception {
        Path out = dir.resolve("classify.json");
        CliRun r = CliRun.of(
                "eval", "classify", "--model", model.toString(), "--data", images.toString(), "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        JsonNode json = new ObjectMapper().readTree(out.toFile());
        assertEquals(3, json.get("confusion").size());
        long total = 0;
        for (JsonNode row : json.get("confusion")) {
            for (JsonNode v : row) {
                total += v.asLong();
            }
        }
        assertEquals(6, total);
        double acc = json.get("accuracy").asDouble();
        assertTrue(acc >= 0 && acc <= 1);
        assertTrue(r.out().contains("true\\pred"), r.out());
    }

    @Test
    void scoreWritesCsvAndJson() throws Exception {
        Path csv = dir.resolve("scores.csv");
        CliRun r = CliRun.of("score", "--model", model.toString(), images.toString(), "--out", csv.toString());
        assertEquals(0, r.status(), r.err());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(7, lines.size());
        assertEquals(
                "file,bits_per_dim,anomaly_complexity,bpd_unconditional,bpd_marginal,predicted,bpd_class_0,"
                        + "bpd_class_1,bpd_class_2,posterior_0,posterior_1,posterior_2",
                lines.get(0));
        String[] first = lines.get(1).split(",");
        assertTrue(first[0].endsWith("0.png"), lines.get(1));
        assertEquals(first[1], first[3], "the default likelihood is the unconditional one");
        double p = Double.parseDouble(first[9]) + Double.parseDouble(first[10]) + Double.parseDouble(first[11]);
        assertEquals(1.0, p, 1e-4);

        CliRun j = CliRun.of(
                "score",
                "--model",
                model.toString(),
                "--format",
                "json",
                "--center",
                images.resolve("a").resolve("0.png").toString());
        assertEquals(0, j.status(), j.err());
        JsonNode json = new ObjectMapper().readTree(j.out());
        assertEquals(1, json.get("images").size());
        assertEquals(3, json.get("images").get(0).get("posterior").size());
        CliRun again = CliRun.of(
                "score",
                "--model",
                model.toString(),
                "--format",
                "json",
                "--center",
                images.resolve("a").resolve("0.png").toString());
        assertEquals(j.out(), again.out(), "the bin centre is deterministic");
    }

    @Test
    void evalOodPrintsMetricsPerMethodAndDrawsTheHistogram() throws Exception {
        Path flat = dir.resolve("flat");
        Files.createDirectories(flat);
        for (int i = 0; i < 5; i++) {
            float[] px = new float[64];
            java.util.Arrays.fill(px, -1f + 0.4f * i);
            Png.writeImage(flat.resolve(i + ".png"), px, 1, 8, 8);
        }
        Path figure = dir.resolve("ood.png");
        CliRun r = CliRun.of(
                "eval",
                "ood",
                "--model",
                model.toString(),
                "--in",
                images.toString(),
                "--ood",
                flat.toString(),
                "--json",
                "--histogram",
                figure.toString(),
                "--out",
                dir.resolve("ood.json").toString());
        assertEquals(0, r.status(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        for (String method : List.of("raw", "complexity")) {
            JsonNode m = json.get("methods").get(method);
            for (String key : List.of("auroc", "aupr", "fpr95")) {
                double v = m.get(key).asDouble();
                assertTrue(v >= 0 && v <= 1, method + " " + key + " " + v);
            }
        }
        // constant images compress to almost nothing: complexity flags them against random pixels
        assertEquals(1.0, json.get("methods").get("complexity").get("auroc").asDouble(), 1e-12);
        assertEquals(6, json.get("in_images").asInt());
        assertEquals(5, json.get("ood_images").asInt());
        assertTrue(javax.imageio.ImageIO.read(figure.toFile()).getHeight() > 100);

        CliRun table = CliRun.of(
                "eval",
                "ood",
                "--model",
                model.toString(),
                "--in",
                images.toString(),
                "--ood",
                flat.toString(),
                "--method",
                "raw",
                "--histogram",
                figure.toString(),
                "--out",
                dir.resolve("o2.json").toString());
        assertEquals(0, table.status(), table.err());
        assertTrue(
                table.out().contains("AUROC")
                        && table.out().contains("raw")
                        && !table.out().contains("complexity"),
                table.out());
        CliRun bad =
                CliRun.of("eval", "ood", "--model", model.toString(), "--ood", flat.toString(), "--method", "magic");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("raw, complexity"), bad.err());
    }

    @Test
    void scoreConvertsOrRefusesMismatchedImagesAndNamesBadFiles() throws Exception {
        Path big = dir.resolve("big.png");
        float[] px = new float[3 * 12 * 12];
        Png.writeImage(big, px, 3, 12, 12);
        CliRun converted = CliRun.of("score", "--model", model.toString(), big.toString());
        assertEquals(0, converted.status(), converted.err());
        assertTrue(converted.err().contains("resized 12x12 to 8x8"), converted.err());
        assertTrue(converted.err().contains("converted 3 channel(s) to 1"), converted.err());

        CliRun refused = CliRun.of("score", "--model", model.toString(), "--refuse-mismatch", big.toString());
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains("big.png") && refused.err().contains("expected 8x8"), refused.err());

        Path text = dir.resolve("notes.png");
        Files.writeString(text, "this is not an image");
        CliRun bad = CliRun.of("score", "--model", model.toString(), text.toString());
        assertEquals(1, bad.status());
        assertTrue(bad.err().contains("notes.png") && bad.err().contains("not a readable image"), bad.err());

        CliRun missing = CliRun.of(
                "score", "--model", model.toString(), dir.resolve("nope.png").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("nope.png"), missing.err());

        assertEquals(
                2,
                CliRun.of("score", "--model", model.toString(), "--format", "xml", big.toString())
                        .status());
    }

    @Test
    void evalSamplesWritesFrechetDistanceAndClassAccuracy() throws Exception {
        io.tarflow4j.tensor.Runtime.seed(2);
        Path tiny = dir.resolve("tiny").resolve("tiny.safetensors");
        Files.createDirectories(tiny.getParent());
        ModelFile.save(
                tiny,
                new io.tarflow4j.model.TarFlow(io.tarflow4j.model.TarFlowConfig.of(1, 28, 7, 64, 1, 1, true, 10)),
                java.util.Map.of());
        Path grid = dir.resolve("tiny").resolve("grid.png");
        CliRun r = CliRun.of(
                "eval",
                "samples",
                "--model",
                tiny.toString(),
                "--n",
                "20",
                "--batch",
                "10",
                "--cfg",
                "0.5",
                "--grid",
                grid.toString());
        assertEquals(0, r.status(), r.err());
        JsonNode json = new ObjectMapper()
                .readTree(tiny.resolveSibling("eval-samples.json").toFile());
        assertTrue(json.get("fd_fmnist").asDouble() > 0);
        assertEquals(10, json.get("per_class_accuracy").size());
        assertEquals(10000, json.get("real_images").asInt());
        assertTrue(Files.size(grid) > 0);
        CliRun noSigma = CliRun.of("eval", "samples", "--model", tiny.toString(), "--n", "4", "--denoise");
        assertEquals(2, noSigma.status());
        assertTrue(noSigma.err().contains("--sigma"), noSigma.err());
    }
}
