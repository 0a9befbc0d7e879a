package io.tarflow4j.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.data.ImageDataset;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Precision;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Tensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingRunTest {
    static final ImageDataset TRAIN = TinyRuns.data(96, 1);
    static final ImageDataset TEST = TinyRuns.data(24, 2);

    @TempDir
    Path tmp;

    @Test
    void lossFallsOnATinyDatasetAndTheRunWritesItsOutputs() throws Exception {
        Path out = tmp.resolve("run");
        TrainingRun.Summary s = TinyRuns.run(TinyRuns.options(30, out).build(), TRAIN, TEST);
        List<Double> losses = TinyRuns.losses(out);
        assertEquals(30, losses.size());
        double first = losses.subList(0, 5).stream()
                .mapToDouble(Double::doubleValue)
                .average()
                .orElseThrow();
        double last = losses.subList(25, 30).stream()
                .mapToDouble(Double::doubleValue)
                .average()
                .orElseThrow();
        assertTrue(last < first - 0.3, "loss did not fall: first 5 " + first + ", last 5 " + last);
        assertEquals(30, s.step());
        assertTrue(Files.size(out.resolve(TrainingCheckpoint.FILE)) > 0);
        assertTrue(Files.size(out.resolve(TrainingRun.FIGURE)) > 0);
        JsonNode bpd = new ObjectMapper().readTree(out.resolve(TrainingRun.BPD).toFile());
        assertEquals(24, bpd.get("images").asInt());
        assertEquals(s.testBpd(), bpd.get("test_bpd").asDouble(), 1e-12);
        assertTrue(Double.isFinite(s.testBpd()) && s.testBpd() > 0, "bpd " + s.testBpd());
    }

    @Test
    void bf16MixedPrecisionLearnsLikeFloat32AndIsRecorded() throws Exception {
        Path f32 = tmp.resolve("f32");
        Path bf16 = tmp.resolve("bf16");
        TinyRuns.run(TinyRuns.options(30, f32).build(), TRAIN, null);
        TinyRuns.run(TinyRuns.options(30, bf16).precision(Precision.BF16).build(), TRAIN, null);
        List<Double> a = TinyRuns.losses(f32);
        List<Double> b = TinyRuns.losses(bf16);
        assertEquals(a.get(0), b.get(0), 0.05, "first step: the same model and batch in two precisions");
        assertTrue(!a.equals(b), "bf16 must change the arithmetic (else autocast was not on)");
        double lastA = a.subList(25, 30).stream()
                .mapToDouble(Double::doubleValue)
                .average()
                .orElseThrow();
        double lastB = b.subList(25, 30).stream()
                .mapToDouble(Double::doubleValue)
                .average()
                .orElseThrow();
        assertEquals(lastA, lastB, 0.1, "after 30 steps bf16 follows float32");
        try (SafetensorsFile f = Safetensors.read(bf16.resolve(TrainingCheckpoint.FILE))) {
            assertEquals("bf16", f.metadata().get("precision"));
            assertTrue(
                    f.tensors().values().stream()
                            .filter(t -> t.shape().length > 1)
                            .allMatch(t -> t.dtype() == io.tarflow4j.io.DType.F32),
                    "checkpoints stay float32");
        }
    }

    @Test
    void precisionFlagValues() {
        assertEquals(Precision.BF16, Precision.parse("bf16"));
        assertEquals(Precision.BF16, Precision.parse(" BFloat16 "));
        assertEquals(Precision.FLOAT32, Precision.parse("fp32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
        assertTrue(e.getMessage().contains("--precision"), e.getMessage());
    }

    @Test
    void aResumedRunGivesTheSameLossesAsAnUninterruptedOne() throws Exception {
        Path whole = tmp.resolve("whole");
        Path parts = tmp.resolve("parts");
        TinyRuns.run(TinyRuns.options(12, whole).build(), TRAIN, null);
        TinyRuns.run(TinyRuns.options(12, parts).stopAfter(7).build(), TRAIN, null); // interrupted after step 7
        // resume: --steps is the new total; the recipe comes from the checkpoint
        TinyRuns.run(
                TinyRuns.options(12, null).resume(parts).data("ignored").lr(1).build(), TRAIN, null);
        List<Double> a = TinyRuns.losses(whole);
        List<Double> b = TinyRuns.losses(parts);
        assertEquals(12, a.size());
        assertEquals(a, b, "losses of the uninterrupted run vs the interrupted and resumed run");
        try (SafetensorsFile f1 = Safetensors.read(whole.resolve(TrainingCheckpoint.FILE));
                SafetensorsFile f2 = Safetensors.read(parts.resolve(TrainingCheckpoint.FILE))) {
            assertEquals("12", f2.metadata().get("step"));
            for (String name : f1.tensors().keySet()) {
                if (name.startsWith("model.")) {
                    assertEquals(f1.tensor(name), f2.tensor(name), name);
                }
            }
        }
        assertTrue(Files.exists(parts.resolve(TrainingCheckpoint.PREVIOUS)));
    }

    @Test
    void resumeKeepsTheRecordedRecipeAndEvaluationSteps() throws Exception {
        Path dir = tmp.resolve("recipe");
        TinyRuns.run(
                TinyRuns.options(8, dir)
                        .evalAt(java.util.List.of(6L))
                        .noise(NoiseSpec.uniform())
                        .stopAfter(3)
                        .build(),
                TRAIN,
                TEST);
        TrainingOptions resumed = TrainingRun.resolve(
                TinyRuns.options(0, null).minutes(1).resume(dir).build());
        assertEquals(8, resumed.steps());
        assertEquals(java.util.List.of(6L), resumed.evalAt());
        assertEquals(NoiseSpec.uniform(), resumed.noise());
        assertEquals(3e-3, resumed.lr());
        assertEquals(11, resumed.seed());
        assertEquals(16, resumed.batch());
        assertEquals(16, resumed.width());
    }

    @Test
    void perBlockLayerCountsSurviveCheckpointAndResume() throws Exception {
        Path dir = tmp.resolve("deep-shallow");
        TinyRuns.run(
                TinyRuns.options(4, dir)
                        .layersPerBlock(List.of(2, 1))
                        .stopAfter(2)
                        .build(),
                TRAIN,
                null);
        TrainingOptions resumed =
                TrainingRun.resolve(TinyRuns.options(4, null).resume(dir).build());
        assertEquals(List.of(2, 1), resumed.layersPerBlock(), "the checkpoint's layers of each block");
        TrainingRun.Summary s =
                TinyRuns.run(TinyRuns.options(4, null).resume(dir).build(), TRAIN, null);
        assertEquals(4, s.step());
        assertEquals(
                List.of(2, 1),
                ModelFile.load(dir.resolve(TrainingCheckpoint.FILE))
                        .model()
                        .config()
                        .layersPerBlock());
    }

    @Test
    void resumeKeepsNoSamplesAndActivationCheckpointing() throws Exception {
        Path dir = tmp.resolve("lean");
        TinyRuns.run(
                TinyRuns.options(4, dir)
                        .samples(false)
                        .activationCheckpointing(true)
                        .stopAfter(2)
                        .build(),
                TRAIN,
                null);
        TrainingOptions resumed = TrainingRun.resolve(
                TinyRuns.options(0, null).minutes(1).resume(dir).build());
        assertFalse(resumed.samples(), "--no-samples of the first run");
        assertTrue(resumed.activationCheckpointing(), "--activation-checkpointing of the first run");
    }

    @Test
    void resumingToAStepAlreadyReachedIsRefusedNamingSteps() throws Exception {
        Path dir = tmp.resolve("done");
        TinyRuns.run(TinyRuns.options(3, dir).build(), TRAIN, null);
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> TinyRuns.run(TinyRuns.options(3, null).resume(dir).build(), TRAIN, null));
        assertTrue(e.getMessage().contains("--steps"), e.getMessage());
    }

    @Test
    void aNaNBatchStopsTrainingNamingTheStepAndKeepsTheLastGoodCheckpoint() throws Exception {
        Path dir = tmp.resolve("nan");
        TrainingOptions o = TinyRuns.options(10, dir).checkpointEvery(3).build();
        TrainingOptions resolved = TrainingRun.resolve(o);
        Files.createDirectories(dir);
        TrainingRun run =
                new TrainingRun(resolved, TRAIN, null, dir, new PrintStream(new ByteArrayOutputStream()), false);
        run.inputHook = (step, x) -> step == 5 ? x.mul(Tensors.fromFloats(new float[] {Float.NaN}, 1)) : x;
        NonFiniteLossException e = assertThrows(NonFiniteLossException.class, run::run);
        assertEquals(5, e.step());
        assertTrue(e.getMessage().contains("step 5"), e.getMessage());
        try (SafetensorsFile f = Safetensors.read(dir.resolve(TrainingCheckpoint.FILE))) {
            assertEquals("3", f.metadata().get("step"));
            for (var t : f.tensors().entrySet()) {
                if (t.getKey().startsWith("model.")) {
                    for (float v : t.getValue().toFloatArray()) {
                        assertTrue(Float.isFinite(v), t.getKey());
                    }
                }
            }
        }
        assertFalse(Files.exists(dir.resolve(TrainingRun.FIGURE)));
    }

    @Test
    void skipNonFiniteSkipsThePoisonedStepAndFinishes() throws Exception {
        Path dir = tmp.resolve("skip");
        TrainingOptions resolved =
                TrainingRun.resolve(TinyRuns.options(6, dir).skipNonFinite(true).build());
        Files.createDirectories(dir);
        TrainingRun run =
                new TrainingRun(resolved, TRAIN, null, dir, new PrintStream(new ByteArrayOutputStream()), false);
        run.inputHook = (step, x) -> step == 2 ? x.mul(Tensors.fromFloats(new float[] {Float.NaN}, 1)) : x;
        TrainingRun.Summary s = run.run();
        assertEquals(6, s.step());
        assertTrue(Double.isFinite(s.lastLoss()));
        long skips = io.tarflow4j.training.MetricsLog.read(dir.resolve(MetricsLog.FILE)).stream()
                .filter(n -> n.get("event").asText().equals("skip"))
                .count();
        assertEquals(1, skips);
    }

    @Test
    void anAbsurdLearningRateNeverLeavesAPoisonedCheckpoint() throws Exception {
        Path dir = tmp.resolve("absurd");
        try {
            TinyRuns.run(
                    TinyRuns.options(12, dir)
                            .lr(1e6)
                            .warmupSteps(0)
                            .checkpointEvery(1)
                            .build(),
                    TRAIN,
                    null);
        } catch (IllegalStateException expected) {
            // stopped: by a non-finite loss, or by the refusal to write non-finite weights
        }
        for (String name : new String[] {TrainingCheckpoint.FILE, TrainingCheckpoint.PREVIOUS}) {
            Path file = dir.resolve(name);
            if (Files.exists(file)) {
                try (SafetensorsFile f = Safetensors.read(file)) {
                    for (var t : f.tensors().entrySet()) {
                        if (t.getKey().startsWith("model.")) {
                            for (float v : t.getValue().toFloatArray()) {
                                assertTrue(Float.isFinite(v), name + " " + t.getKey());
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void theCheckpointLoadsWithModelFileAndGivesTheSameOutputs() throws Exception {
        Path dir = tmp.resolve("load");
        TinyRuns.run(TinyRuns.options(4, dir).emaDecay(0.5).build(), TRAIN, null);
        Path file = dir.resolve(TrainingCheckpoint.FILE);
        TrainingCheckpoint.Contents ck = TrainingCheckpoint.load(file);
        ModelFile.Loaded plain =
                ModelFile.load(file, new ModelFile.LoadOptions(0, 0, false, new org.bytedeco.pytorch.Device("cpu")));
        ModelFile.Loaded ema = ModelFile.load(file);
        assertTrue(ema.usedEma());
        assertEquals(ck.config(), plain.model().config());
        assertEquals("gaussian:0.1", plain.metadata().get("noise"));
        assertEquals(0.1, plain.sigma(0), 0);
        assertEquals("horizontal,vertical", plain.metadata().get(ModelFile.CLASS_NAMES));
        TarFlow reference = new TarFlow(ck.config());
        reference.checkState(RawTensors.shapes(ck.model()));
        RawTensors.copyAll(ck.model(), reference.state());
        try (NativeScope s = NativeScope.open()) {
            float[] pixels = new float[4 * 64];
            for (int i = 0; i < 4; i++) {
                System.arraycopy(TEST.image(i), 0, pixels, i * 64, 64);
            }
            var x = Tensors.fromFloats(pixels, 4, 1, 8, 8);
            var y = Tensors.labels(new int[] {0, 1, 0, 1});
            float[] a = Tensors.toFloats(reference.forward(x, y).z());
            float[] b = Tensors.toFloats(plain.model().forward(x, y).z());
            assertArrayEquals(a, b);
            float[] c = Tensors.toFloats(ema.model().forward(x, y).z());
            assertFalse(Arrays.equals(a, c), "EMA weights differ from the trained ones after 4 steps");
        }
        assertTrue(torch.get_num_threads() >= 1);
    }
}
