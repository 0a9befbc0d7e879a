package io.tarflow4j.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.KvCache;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.BlasThreads;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Sampling a batch as parallel groups of rows gives the images of one group. */
class RowGroupsTest {
    private static TarFlow model;

    @BeforeAll
    static void model() {
        io.tarflow4j.tensor.Runtime.setThreads(1);
        model = RandomWeights.perturbed(TarFlowConfig.of(1, 8, 2, 64, 3, 2, true, 4), 11, 0.02);
    }

    @Test
    void groupCountsAndBounds() {
        Device cpu = new Device("cpu");
        assertEquals(3, RowGroups.count(3, 10, cpu));
        assertEquals(2, RowGroups.count(5, 2, cpu), "never more groups than rows");
        assertEquals(1, RowGroups.count(4, 1, cpu));
        int cores = java.lang.Runtime.getRuntime().availableProcessors();
        assertEquals(Math.min(7, cores), RowGroups.count(0, 7, cpu), "automatic: one per core (one intra-op thread)");
        io.tarflow4j.tensor.Runtime.setThreads(2);
        try {
            assertEquals(
                    Math.max(1, Math.min(7, cores / 2)),
                    RowGroups.count(0, 7, cpu),
                    "automatic: cores left over by libtorch's threads");
        } finally {
            io.tarflow4j.tensor.Runtime.setThreads(1);
        }
        assertThrows(IllegalArgumentException.class, () -> RowGroups.count(-1, 4, cpu));
        assertArrayEquals(new long[] {0, 3, 6, 10}, RowGroups.bounds(10, 3));
        assertArrayEquals(new long[] {0, 1, 2}, RowGroups.bounds(2, 2));
    }

    @Test
    void taskFailureIsRethrownAfterAllFinishAndBlasThreadsAreRestored() {
        int before = BlasThreads.get();
        List<Callable<Integer>> tasks = new ArrayList<>();
        tasks.add(() -> {
            assertEquals(1, BlasThreads.get(), "OpenBLAS limited to one thread per caller meanwhile");
            return 1;
        });
        tasks.add(() -> {
            throw new IllegalArgumentException("bad rows");
        });
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RowGroups.run(tasks));
        assertEquals("bad rows", e.getMessage());
        assertEquals(before, BlasThreads.get());
        assertEquals(List.of(4, 5), RowGroups.run(List.<Callable<Integer>>of(() -> 4, () -> 5)));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 1.5})
    void parallelGroupsEqualOneGroup(double cfg) {
        try (NativeScope s = NativeScope.open()) {
            int b = 5;
            TarFlowConfig c = model.config();
            torch.manual_seed(3);
            Tensor z = torch.randn(b, c.numTokens(), c.tokenDim());
            Tensor y = Tensors.labels(new int[] {0, 3, 1, 2, 3});
            Guidance g = Guidance.of(cfg, 1.0);
            long rows = g.active() ? 2L * b : b;
            Sampler sampler = new Sampler(model);
            SamplingStats oneStats = new SamplingStats(c.numBlocks());
            List<Tensor> oneTrace = new ArrayList<>();
            Tensor one = sampler.reverse(
                    z,
                    y,
                    KvCache.forModel(model, rows),
                    Inversion.sequential(g, oneStats).withTrace(oneTrace).withParallelism(1));
            assertTrue(Float.isFinite(Tensors.toFloats(one.abs().max())[0]), "one group: finite samples");
            for (int groups : new int[] {2, 3, 5}) {
                SamplingStats stats = new SamplingStats(c.numBlocks());
                List<Tensor> trace = new ArrayList<>();
                Tensor many = sampler.reverse(
                        z,
                        y,
                        KvCache.forModel(model, rows),
                        Inversion.sequential(g, stats).withTrace(trace).withParallelism(groups));
                assertTrue(Tensors.maxAbsDiff(one, many) < 1e-5, groups + " groups: " + Tensors.maxAbsDiff(one, many));
                assertEquals(oneTrace.size(), trace.size());
                for (int i = 0; i < trace.size(); i++) {
                    assertTrue(Tensors.maxAbsDiff(oneTrace.get(i), trace.get(i)) < 1e-5, "trace stage " + i);
                }
                for (int i = 0; i < c.numBlocks(); i++) {
                    assertEquals(oneStats.passes(i), stats.passes(i), "groups run at the same time count once");
                }
            }
            JacobiStrategy exact =
                    JacobiStrategy.uniform(c.numBlocks(), new BlockStrategy(2, c.numTokens(), InitialGuess.ZEROS, 0.0));
            Tensor jacobi = sampler.reverse(
                    z,
                    y,
                    KvCache.forModel(model, rows),
                    Inversion.sequential(g, new SamplingStats(c.numBlocks()))
                            .withStrategy(exact)
                            .withParallelism(2));
            assertTrue(
                    Tensors.maxAbsDiff(one, jacobi) < 1e-4,
                    "GS-Jacobi in two groups: " + Tensors.maxAbsDiff(one, jacobi));
        }
    }
}
