package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.bench.BitsPerDimBenchmark;
import io.tarflow4j.bench.SamplingBenchmark;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.DataOptions;
import io.tarflow4j.data.Datasets;
import io.tarflow4j.io.Png;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.sampling.Sampler;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.tensor.Precision;
import io.tarflow4j.training.MetricsLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Each benchmark runs its command's own code: for one seed, {@code bench train} and
 * {@code bench distributed} end at {@code train}'s loss, {@code bench sample} draws
 * {@code sample}'s images and {@code bench bpd}'s evaluation gives {@code eval bpd}'s bits/dim.
 */
class BenchAgreementTest {
    @TempDir
    Path dir;

    static Path fixture() throws Exception {
        return Path.of(BenchAgreementTest.class
                .getResource("/fixtures/cond_nvp.safetensors")
                .toURI());
    }

    @Test
    void benchTrainAndBenchDistributedEndAtTrainsLoss() throws Exception {
        Path run = dir.resolve("run");
        CliRun train = CliRun.of(
                "train",
                "--preset",
                "fmnist-small",
                "--test-data",
                "none",
                "--no-samples",
                "--batch",
                "8",
                "--steps",
                "3",
                "--nproc",
                "1",
                "--out",
                run.toString());
        assertEquals(0, train.status(), train.all());
        JsonNode lastStep = null;
        for (JsonNode n : MetricsLog.read(run.resolve(MetricsLog.FILE))) {
            if (n.get("event").asText().equals("step")) {
                lastStep = n;
            }
        }
        assertEquals(3, lastStep.get("step").asLong());
        double loss = lastStep.get("loss").asDouble();

        CliRun bench = CliRun.of(
                "bench",
                "train",
                "--preset",
                "fmnist-small",
                "--batch",
                "8",
                "--warmup",
                "1",
                "--steps",
                "2",
                "--json");
        assertEquals(0, bench.status(), bench.all());
        assertEquals(loss, lastLoss(bench), 0.0, "bench train runs train's steps");

        CliRun dist = CliRun.of(
                "bench",
                "distributed",
                "--arch",
                "fmnist-small",
                "--nproc",
                "1",
                "--batch",
                "8",
                "--warmup",
                "1",
                "--steps",
                "2",
                "--json");
        assertEquals(0, dist.status(), dist.all());
        assertEquals(loss, lastLoss(dist), 0.0, "bench distributed runs train's steps");
        assertEquals(1, json(dist).get("settings").get("processes").asInt());
    }

    @Test
    void benchSampleDrawsSamplesImages() throws Exception {
        Path raw = dir.resolve("raw.safetensors");
        CliRun sample = CliRun.of(
                "sample",
                "--model",
                fixture().toString(),
                "--n",
                "3",
                "--batch",
                "3",
                "--cfg",
                "1",
                "--seed",
                "7",
                "--raw",
                raw.toString(),
                "--out",
                dir.resolve("grid.png").toString());
        assertEquals(0, sample.status(), sample.all());
        float[] expected;
        try (SafetensorsFile f = Safetensors.read(raw)) {
            expected = f.tensors().get("samples").toFloatArray();
        }

        BenchSampleCommand bench = new BenchSampleCommand();
        new CommandLine(bench).parseArgs("--model", fixture().toString(), "--batch", "3", "--cfg", "1", "--seed", "6");
        TarFlow model = ModelFile.load(fixture()).model();
        // one warm-up call with seed 6, then the timed call with seed 7
        SamplingBenchmark.Timings t = SamplingBenchmark.run(
                new Sampler(model), bench.options(model.config(), SamplerType.SEQUENTIAL, null, 3), 1, 1);
        assertEquals(1, t.millis().size());
        assertArrayEquals(expected, t.last().images(), "bench sample draws sample's images");

        CliRun cli = CliRun.of(
                "bench",
                "sample",
                "--model",
                fixture().toString(),
                "--batch",
                "3",
                "--cfg",
                "1",
                "--sampler",
                "sequential",
                "--steps",
                "2",
                "--warmup",
                "0",
                "--json");
        assertEquals(0, cli.status(), cli.all());
        assertEquals(2, json(cli).get("timed_steps").asInt());
    }

    @Test
    void benchBpdEvaluatesAsEvalBpd() throws Exception {
        Path model = dir.resolve("m").resolve("model.safetensors");
        Files.createDirectories(model.getParent());
        Files.copy(fixture(), model, StandardCopyOption.REPLACE_EXISTING);
        Path images = dir.resolve("images");
        Files.createDirectories(images);
        Random r = new Random(4);
        for (int i = 0; i < 6; i++) {
            float[] px = new float[64];
            for (int k = 0; k < px.length; k++) {
                px[k] = (float) (r.nextDouble() * 2 - 1);
            }
            Png.writeImage(images.resolve(i + ".png"), px, 1, 8, 8);
        }
        CliRun eval =
                CliRun.of("eval", "bpd", "--model", model.toString(), "--data", images.toString(), "--batch", "2");
        assertEquals(0, eval.status(), eval.all());
        double bpd = new ObjectMapper()
                .readTree(model.resolveSibling("eval-bpd.json").toFile())
                .get("bits_per_dim")
                .asDouble();
        BitsPerDimBenchmark.Timings t = BitsPerDimBenchmark.run(
                ModelFile.load(model).model(),
                Datasets.open(images.toString(), DataOptions.defaults()),
                2,
                1,
                Precision.FLOAT32,
                0);
        assertEquals(2, t.batchMillis().size(), "3 batches of 2, the first not timed");
        assertEquals(bpd, t.result().mean(), 0.0, "bench bpd evaluates as eval bpd");
        assertTrue(Double.isFinite(bpd));
    }

    private static JsonNode json(CliRun run) throws Exception {
        List<String> lines = run.out().lines().filter(l -> l.startsWith("{")).toList();
        assertEquals(1, lines.size(), run.out());
        return new ObjectMapper().readTree(lines.get(0));
    }

    private static double lastLoss(CliRun run) throws Exception {
        return json(run).get("settings").get("last_loss").asDouble();
    }
}
