package io.tarflow4j.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.conformance.FixtureSettings;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Tensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GS-Jacobi sampling equals sequential sampling when given enough passes. */
class JacobiSamplerTest {
    /** Many small ops: one intra-op thread (two spin badly on a busy 2-core machine, see docs/sampling.md). */
    @BeforeAll
    static void oneThread() {
        io.tarflow4j.tensor.Runtime.setThreads(1);
    }

    static Path fixture(String name) throws Exception {
        return Path.of(JacobiSamplerTest.class
                .getResource("/fixtures/" + name + ".safetensors")
                .toURI());
    }

    static Map<String, Tensor> tensors(Path file) throws Exception {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = Safetensors.read(file)) {
            for (Map.Entry<String, RawTensor> e : f.tensors().entrySet()) {
                if (e.getKey().startsWith("reverse.")) {
                    out.put(e.getKey(), RawTensors.toTensor(e.getValue()));
                }
            }
        }
        return out;
    }

    private static Tensor jacobi(TarFlow model, Tensor noise, Tensor y, Guidance g, BlockStrategy s) {
        Sampler sampler = new Sampler(model);
        long rows = g.active() ? 2 * noise.size(0) : noise.size(0);
        JacobiStrategy strategy = JacobiStrategy.uniform(model.config().numBlocks(), s);
        return sampler.reverse(
                noise,
                y,
                KvCache.forModel(model, rows),
                Inversion.sequential(g, new SamplingStats(model.config().numBlocks()))
                        .withStrategy(strategy));
    }

    /** Every reference sampling variant, by Jacobi over whole blocks and by GS segments. */
    @ParameterizedTest
    @ValueSource(strings = {"cond_nvp", "uncond_nvp_tempguide"})
    void exactJacobiMatchesReferenceSamples(String name) throws Exception {
        Path file = fixture(name);
        ModelFile.Loaded loaded = ModelFile.load(file);
        TarFlow model = loaded.model();
        Map<String, Tensor> ref = tensors(file);
        Tensor noise = ref.get("reverse.noise");
        Tensor y = ref.get("reverse.y");
        int tokens = model.config().numTokens();
        Map<String, Guidance> variants =
                FixtureSettings.load(file, loaded.metadata()).reverseVariants();
        List<BlockStrategy> strategies = List.of(
                new BlockStrategy(1, tokens, InitialGuess.INPUT, 0),
                new BlockStrategy(3, tokens, InitialGuess.ZEROS, 0),
                new BlockStrategy(tokens, 1, InitialGuess.INPUT, 0));
        for (var v : variants.entrySet()) {
            Tensor want = ref.get(v.getKey());
            double tol = 2e-4 * Math.max(1e-2, Tensors.item(want.abs().max()));
            for (BlockStrategy s : strategies) {
                try (NativeScope scope = NativeScope.open()) {
                    double err = Tensors.maxAbsDiff(jacobi(model, noise, y, v.getValue(), s), want);
                    assertTrue(err <= tol, name + " " + v.getKey() + " " + s + ": max error " + err + " > " + tol);
                }
            }
        }
    }

    /** On a random model with every weight perturbed: GS-Jacobi with enough passes equals sequential. */
    @Test
    void segmentsAndGuidanceMatchSequentialOnPerturbedModel() {
        TarFlowConfig config = TarFlowConfig.of(1, 8, 2, 64, 3, 2, true, 4); // T = 16
        TarFlow model = RandomWeights.perturbed(config, 7, 0.02);
        int tokens = config.numTokens();
        Tensor noise = Tensors.fromFloats(
                Sampler.noise(3, 5L * tokens * config.tokenDim(), 1.0), 5, tokens, config.tokenDim());
        Tensor y = Tensors.labels(new int[] {0, 1, 2, 3, 1});
        Sampler sampler = new Sampler(model);
        for (Guidance g : List.of(Guidance.NONE, new Guidance(2.0, Guidance.Target.BOTH, 0.7, true))) {
            try (NativeScope scope = NativeScope.open()) {
                KvCache cache = KvCache.forModel(model, g.active() ? 10 : 5);
                SamplingStats seqStats = new SamplingStats(3);
                Tensor seq = sampler.reverse(noise, y, cache, Inversion.sequential(g, seqStats));
                for (BlockStrategy s : List.of(
                        new BlockStrategy(1, tokens, InitialGuess.ZEROS, 0),
                        new BlockStrategy(1, tokens, InitialGuess.INPUT, 0),
                        new BlockStrategy(4, tokens, InitialGuess.ZEROS, 0),
                        new BlockStrategy(6, tokens, InitialGuess.INPUT, 0))) {
                    SamplingStats stats = new SamplingStats(3);
                    Tensor jac = sampler.reverse(
                            noise, y, cache, Inversion.sequential(g, stats).withStrategy(JacobiStrategy.uniform(3, s)));
                    double err = Tensors.maxAbsDiff(jac, seq);
                    assertTrue(err < 5e-5, s + " guided " + g.active() + ": max error " + err);
                }
                assertEquals(15, seqStats.passes(0));
            }
        }
    }

    /** T-1 one-token segments are the sequential order: the same samples, one pass per token. */
    @Test
    void oneTokenSegmentsAreTheSequentialSampler() {
        TarFlowConfig config = TarFlowConfig.of(1, 8, 2, 64, 3, 2, true, 4); // T = 16
        TarFlow model = RandomWeights.perturbed(config, 9, 0.02);
        Tensor noise = Tensors.fromFloats(Sampler.noise(6, 5L * 16 * 4, 1.0), 5, 16, 4);
        Tensor y = Tensors.labels(new int[] {3, 1, 2, 0, 1});
        Sampler sampler = new Sampler(model);
        for (Guidance g : List.of(Guidance.NONE, new Guidance(1.5, Guidance.Target.BOTH, 1.0, true))) {
            try (NativeScope scope = NativeScope.open()) {
                KvCache cache = KvCache.forModel(model, g.active() ? 10 : 5);
                Tensor seq = sampler.reverse(noise, y, cache, Inversion.sequential(g, new SamplingStats(3)));
                // 15 or more segments (capped at T-1 = 15); the tolerance and guess play no part
                for (BlockStrategy s : List.of(
                        new BlockStrategy(15, 1, InitialGuess.ZEROS, 0.5),
                        new BlockStrategy(40, 3, InitialGuess.INPUT, 0))) {
                    SamplingStats stats = new SamplingStats(3);
                    Tensor jac = sampler.reverse(
                            noise, y, cache, Inversion.sequential(g, stats).withStrategy(JacobiStrategy.uniform(3, s)));
                    assertEquals(0.0, Tensors.maxAbsDiff(jac, seq), s + " guided " + g.active());
                    for (int b = 0; b < 3; b++) {
                        assertEquals(15, stats.passes(b), stats.describe());
                        assertEquals(1, stats.maxSegmentPasses(b), stats.describe());
                    }
                }
            }
        }
    }

    /** A tolerance stops early; the passes are counted and the result stays close. */
    @Test
    void toleranceStopsEarly() {
        TarFlowConfig config = TarFlowConfig.of(1, 8, 2, 64, 2, 1, true, 0); // T = 16
        TarFlow model = RandomWeights.perturbed(config, 11, 0.02);
        Tensor noise = Tensors.fromFloats(Sampler.noise(5, 4L * 16 * 4, 1.0), 4, 16, 4);
        Sampler sampler = new Sampler(model);
        try (NativeScope scope = NativeScope.open()) {
            KvCache cache = KvCache.forModel(model, 4);
            Tensor seq = sampler.reverse(noise, null, cache, Inversion.sequential(Guidance.NONE, new SamplingStats(2)));
            SamplingStats stats = new SamplingStats(2);
            JacobiStrategy st = JacobiStrategy.uniform(2, new BlockStrategy(1, 16, InitialGuess.INPUT, 1e-4));
            Tensor jac = sampler.reverse(
                    noise,
                    null,
                    cache,
                    Inversion.sequential(Guidance.NONE, stats).withStrategy(st));
            assertTrue(stats.passes(0) < 15 && stats.passes(1) < 15, stats.describe());
            assertTrue(Tensors.maxAbsDiff(jac, seq) < 1e-3);
        }
    }
}
