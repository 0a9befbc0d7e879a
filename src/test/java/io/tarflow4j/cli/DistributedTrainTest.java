package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.training.MetricsLog;
import io.tarflow4j.training.RunLock;
import io.tarflow4j.training.TrainingCheckpoint;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tarflow train --nproc 2} in real worker JVMs on 127.0.0.1 against the same run in one
 * process with the same global batch, on a tiny 8x8 two-class IDX dataset and a tiny model.
 */
@Timeout(180)
class DistributedTrainTest {
    /** float32 training: 2 ranks average per-rank means, one process takes one mean. */
    private static final double RELATIVE_TOLERANCE = 1e-5;

    @TempDir
    Path tmp;

    private Path images;

    /** 64 images 8x8 of two classes (horizontal / vertical ramps with a little noise), as IDX files. */
    @BeforeEach
    void writeData() throws IOException {
        int n = 64;
        SplittableRandom r = new SplittableRandom(5);
        byte[] pixels = new byte[n * 64];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (byte) (i % 2);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    pixels[i * 64 + y * 8 + x] = (byte) Math.min(255, (i % 2 == 0 ? x : y) * 32 + r.nextInt(16));
                }
            }
        }
        images = tmp.resolve("tiny-images-idx3-ubyte");
        try (DataOutputStream d = new DataOutputStream(Files.newOutputStream(images))) {
            d.writeInt(0x0803);
            d.writeInt(n);
            d.writeInt(8);
            d.writeInt(8);
            d.write(pixels);
        }
        try (DataOutputStream d = new DataOutputStream(Files.newOutputStream(tmp.resolve("tiny-labels-idx1-ubyte")))) {
            d.writeInt(0x0801);
            d.writeInt(n);
            d.write(labels);
        }
    }

    /** A tiny run's flags (global batch 16) followed by {@code extra}. */
    private String[] train(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "train",
                "--data",
                images.toString(),
                "--test-data",
                "none",
                "--image-size",
                "8",
                "--channels",
                "1",
                "--patch",
                "2",
                "--width",
                "16",
                "--head-dim",
                "8",
                "--blocks",
                "2",
                "--layers",
                "1",
                "--batch",
                "16",
                "--lr",
                "3e-3",
                "--warmup",
                "2",
                "--log-every",
                "1",
                "--sample-every",
                "0",
                "--checkpoint-every",
                "1000",
                "--seed",
                "11",
                "--threads",
                "1",
                "--out",
                out.toString()));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static String[] resume(Path dir, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--resume", dir.toString(), "--threads", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void twoWorkersTrainLikeOneProcessOnTheGlobalBatchAndOnlyRankZeroWrites() throws Exception {
        Path two = tmp.resolve("two");
        Path one = tmp.resolve("one");
        long t0 = System.nanoTime();
        CliRun d = CliRun.of(train(two, "--steps", "3", "--nproc", "2"));
        System.out.printf("--nproc 2, 3 steps: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(0, d.status(), d.out() + d.err());
        CliRun s = CliRun.of(train(one, "--steps", "3"));
        assertEquals(0, s.status(), s.out() + s.err());

        assertEquals(1, count(d.out(), "run folder:"), d.out());
        assertEquals(1, count(d.err(), "tarflow train:"), d.err());
        assertTrue(d.err().contains("2 processes (batch 8 each)"), d.err());
        assertFalse(
                (d.out() + d.err()).lines().anyMatch(l -> l.startsWith("[1] ") && l.contains("step")),
                "rank 1 printed progress: " + d.out() + d.err());
        try (Stream<Path> files = Files.list(two)) {
            assertEquals(
                    List.of(TrainingCheckpoint.FILE, MetricsLog.FILE, RunLock.FILE, "samples.png"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertEquals(List.of(1L, 2L, 3L), steps(two));
        assertEquals(losses(one).size(), losses(two).size());
        for (int i = 0; i < 3; i++) {
            assertEquals(
                    losses(one).get(i),
                    losses(two).get(i),
                    1e-5 * Math.max(1, Math.abs(losses(one).get(i))),
                    "logged loss of step " + (i + 1));
        }
        assertSameWeights(one, two);
    }

    @Test
    void aResumedTwoWorkerVpRunMatchesOneUninterruptedProcess() throws Exception {
        String[] recipe = {
            "--vp", "--unconditional", "--ema", "0.9", "--grad-clip", "0.5", "--flip", "--noise", "uniform"
        };
        Path two = tmp.resolve("two");
        Path one = tmp.resolve("one");
        CliRun first = CliRun.of(concat(train(two, "--steps", "4", "--stop-after", "2", "--nproc", "2"), recipe));
        assertEquals(0, first.status(), first.out() + first.err());
        assertTrue(first.out().contains("stopped after step 2 of 4"), first.out());
        CliRun second = CliRun.of(resume(two, "--nproc", "2", "--log-every", "1"));
        assertEquals(0, second.status(), second.out() + second.err());
        CliRun single = CliRun.of(concat(train(one, "--steps", "4"), recipe));
        assertEquals(0, single.status(), single.out() + single.err());

        assertEquals(List.of(1L, 2L, 3L, 4L), steps(two));
        assertSameWeights(one, two);
    }

    @Test
    void twoWorkersOnATimeBudgetAgreeOnTheTotalAndFinishTogether() throws Exception {
        Path two = tmp.resolve("budget");
        List<String> args = new ArrayList<>(List.of(train(two, "--minutes", "0.05", "--nproc", "2")));
        CliRun d = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, d.status(), d.out() + d.err());
        List<Long> steps = steps(two);
        try (NativeScope scope = NativeScope.open()) {
            long last = TrainingCheckpoint.load(two.resolve(TrainingCheckpoint.FILE))
                    .step();
            assertEquals(last, steps.get(steps.size() - 1));
            assertTrue(last > 1, "only " + last + " steps in 3 s"); // ~100 on a quiet machine, a few under heavy load
            System.out.println("--nproc 2, --minutes 0.05: both ranks stopped after step " + last);
        }
    }

    @Test
    void badDistributedTrainFlagsAreUsageErrorsNamingTheFlags() {
        Path out = tmp.resolve("never");
        CliRun zero = CliRun.of(train(out, "--steps", "1", "--nproc", "0"));
        assertEquals(2, zero.status(), zero.err());
        assertTrue(zero.err().contains("--nproc must be at least 1, got 0"), zero.err());

        CliRun odd = CliRun.of(concat(train(out, "--steps", "1", "--nproc", "3")));
        assertEquals(2, odd.status(), odd.err());
        assertTrue(odd.err().contains("--batch 16 must be a positive multiple of the 3 processes"), odd.err());
        assertTrue(odd.err().contains("--nproc 3"), odd.err());

        CliRun world = CliRun.of(
                train(out, "--steps", "1", "--world-size", "3", "--rank", "1", "--master", "127.0.0.1:29999"));
        assertEquals(2, world.status(), world.err());
        assertTrue(world.err().contains("--batch 16 must be a positive multiple of the 3 processes"), world.err());
        assertTrue(world.err().contains("--world-size 3"), world.err());

        CliRun mixed = CliRun.of(train(out, "--steps", "1", "--nproc", "2", "--world-size", "2"));
        assertEquals(2, mixed.status(), mixed.err());
        assertTrue(mixed.err().contains("do not combine it with --world-size"), mixed.err());
        assertFalse(Files.exists(out), "no run folder for refused flags");
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    private static int count(String text, String what) {
        return (int) text.lines().filter(l -> l.contains(what)).count();
    }

    private static List<Long> steps(Path dir) throws IOException {
        List<Long> out = new ArrayList<>();
        for (JsonNode n : MetricsLog.read(dir.resolve(MetricsLog.FILE))) {
            if (n.get("event").asText().equals("step")) {
                out.add(n.get("step").asLong());
            }
        }
        return out;
    }

    private static List<Double> losses(Path dir) throws IOException {
        List<Double> out = new ArrayList<>();
        for (JsonNode n : MetricsLog.read(dir.resolve(MetricsLog.FILE))) {
            if (n.get("event").asText().equals("step")) {
                out.add(n.get("loss").asDouble());
            }
        }
        return out;
    }

    /** Model (parameters and prior variance) and EMA of both checkpoints agree to float32 tolerance. */
    private static void assertSameWeights(Path expectedDir, Path actualDir) throws IOException {
        try (NativeScope scope = NativeScope.open()) {
            TrainingCheckpoint.Contents expected =
                    TrainingCheckpoint.load(expectedDir.resolve(TrainingCheckpoint.FILE));
            TrainingCheckpoint.Contents actual = TrainingCheckpoint.load(actualDir.resolve(TrainingCheckpoint.FILE));
            assertEquals(expected.step(), actual.step());
            double worst = compare(expected.model(), actual.model(), "model");
            if (expected.ema() != null && !expected.ema().isEmpty()) {
                worst = Math.max(worst, compare(expected.ema(), actual.ema(), "ema"));
            }
            System.out.printf(
                    "1 process vs 2 workers after step %d: max relative weight difference %.2e at %s%n",
                    expected.step(), worst, worstAt);
        }
    }

    private static String worstAt = "";

    private static double compare(Map<String, RawTensor> expected, Map<String, RawTensor> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        double worst = 0;
        for (String key : expected.keySet()) {
            float[] e = expected.get(key).toFloatArray();
            float[] a = actual.get(key).toFloatArray();
            assertEquals(e.length, a.length, key);
            double scale = 0;
            for (float v : e) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < e.length; i++) {
                // AdamW moves every parameter by up to lr per step whatever its gradient's size, so
                // reduction-order noise is measured against lr * steps (~1e-2 here), not the value.
                double rel = Math.abs(e[i] - a[i]) / Math.max(scale, 1e-2);
                if (rel > worst) {
                    worst = rel;
                    worstAt = what + " " + key + "[" + i + "] (tensor scale " + (float) scale + ")";
                }
                assertTrue(
                        rel <= RELATIVE_TOLERANCE,
                        what + " " + key + "[" + i + "]: " + e[i] + " (1 process) vs " + a[i] + " (2 workers)");
            }
        }
        return worst;
    }
}
