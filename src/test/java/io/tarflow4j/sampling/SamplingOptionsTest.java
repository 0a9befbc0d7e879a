package io.tarflow4j.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Options validation, label layout, strategy files. */
class SamplingOptionsTest {
    @TempDir
    Path dir;

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void badOptionsAreRefusedWithTheirName() {
        assertTrue(message(() -> SamplingOptions.builder().count(0).build()).contains("sample count"));
        assertTrue(message(() -> SamplingOptions.builder().guidance(-1).build()).contains("guidance weight"));
        assertTrue(
                message(() -> SamplingOptions.builder().guidance(1).attnTemp(0).build())
                        .contains("attention temperature"));
        assertTrue(message(() ->
                        SamplingOptions.builder().noiseTemperature(Double.NaN).build())
                .contains("noise temperature"));
        assertTrue(
                message(() -> SamplingOptions.builder().denoise(true).build()).contains("--sigma"));
        assertTrue(message(() -> SamplingOptions.builder().batchSize(0).build()).contains("batch size"));
        assertTrue(
                message(() -> SamplingOptions.builder().classes(List.of(1, -2)).build())
                        .contains("class labels"));
        assertTrue(message(() -> new BlockStrategy(0, 3, InitialGuess.ZEROS, 0)).contains("segments"));
        assertTrue(message(() -> new BlockStrategy(1, 0, InitialGuess.ZEROS, 0)).contains("max iterations"));
        assertTrue(
                message(() -> new BlockStrategy(1, 1, InitialGuess.ZEROS, -1)).contains("tolerance"));
        assertTrue(message(() -> SamplerType.parse("fast")).contains("sequential or jacobi"));
    }

    @Test
    void classesSplitTheCountInOrder() {
        SamplingOptions o =
                SamplingOptions.builder().count(7).classes(List.of(4, 1, 2)).build();
        assertArrayEquals(new int[] {4, 4, 4, 1, 1, 2, 2}, o.labels());
        assertEquals(3, o.perClass(0));
        assertEquals(null, SamplingOptions.builder().count(3).build().labels());
    }

    @Test
    void modelChecksNameTheProblem() {
        TarFlow cond = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, 3));
        TarFlow uncond = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 2, 1, true, 0));
        assertTrue(message(() -> new Sampler(cond)
                        .validate(SamplingOptions.builder().classLabel(3).build()))
                .contains("class 3 is out of range: the model has 3 classes"));
        assertTrue(message(() -> new Sampler(uncond)
                        .validate(SamplingOptions.builder().guidance(1).build()))
                .contains("--attn-temp"));
        assertTrue(message(() -> new Sampler(uncond)
                        .validate(SamplingOptions.builder().classLabel(0).build()))
                .contains("unconditional"));
        new Sampler(uncond)
                .validate(SamplingOptions.builder().guidance(1).attnTemp(0.5).build());
        assertTrue(message(() -> new Sampler(uncond)
                        .validate(SamplingOptions.builder()
                                .sampler(SamplerType.JACOBI)
                                .strategy(JacobiStrategy.uniform(3, BlockStrategy.exact(4)))
                                .build()))
                .contains("the model has 2"));
    }

    @Test
    void strategyFileRoundTrips() throws IOException {
        JacobiStrategy s = new JacobiStrategy(
                List.of(
                        new BlockStrategy(4, 12, InitialGuess.INPUT, 1e-3),
                        new BlockStrategy(1, 5, InitialGuess.ZEROS, 0)),
                List.of(Map.of("crm", 2.5), Map.of()));
        Path f = dir.resolve("s.json");
        s.write(f);
        assertEquals(s, JacobiStrategy.read(f));
    }

    @Test
    void badStrategyFilesNameFileAndProblem() throws IOException {
        String ok = "{\"format\":\"tarflow4j-gs-jacobi-strategy\",\"version\":1,\"blocks\":[%s]}";
        String block = "{\"block\":0,\"segments\":2,\"max_iterations\":3,\"guess\":\"zeros\",\"tolerance\":0.001%s}";
        Map<String, String> cases = Map.of(
                "not json",
                "not valid JSON",
                String.format(ok, String.format(block, ",\"segmnets\":3")),
                "unknown key \"segmnets\"",
                String.format(ok, String.format(block, "").replace("\"zeros\"", "\"ones\"")),
                "expected zeros or input",
                String.format(ok, String.format(block, "").replace("\"segments\":2", "\"segments\":0")),
                "segments must be >= 1",
                String.format(ok, String.format(block, "").replace("\"block\":0", "\"block\":1")),
                "\"block\" must be 0",
                String.format(ok, "").replace("tarflow4j-gs", "other"),
                "\"format\" must be",
                String.format(ok, String.format(block, "").replace(",\"tolerance\":0.001", "")),
                "\"tolerance\" must be a number");
        for (var e : cases.entrySet()) {
            Path f = dir.resolve("bad.json");
            Files.writeString(f, e.getKey());
            IOException ex = assertThrows(IOException.class, () -> JacobiStrategy.read(f));
            assertTrue(
                    ex.getMessage().contains(f.toString()) && ex.getMessage().contains(e.getValue()),
                    e.getValue() + " / " + ex.getMessage());
        }
        assertThrows(java.nio.file.NoSuchFileException.class, () -> JacobiStrategy.read(dir.resolve("missing.json")));
    }
}
