package io.tarflow4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.model.ReferenceKeys;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.RawTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crafted model files fail fast with one line, before the model is allocated. */
class ModelFileCheckTest {
    private static final TarFlowConfig CONFIG = new TarFlowConfig(1, 8, 2, 64, List.of(2, 1), 32, 4, true, 3);
    private static Map<String, RawTensor> tensors;

    @BeforeAll
    static void model() {
        tensors = new LinkedHashMap<>();
        new TarFlow(CONFIG).state().forEach((k, v) -> tensors.put(k, RawTensors.fromTensor(v)));
    }

    /** The model's file with some configuration keys replaced. */
    private static Path crafted(Path dir, Map<String, String> changes) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>(ReferenceKeys.fromConfig(CONFIG));
        meta.putAll(changes);
        Path file = dir.resolve("crafted.safetensors");
        Safetensors.write(file, tensors, meta);
        return file;
    }

    /** Loading fails with an IOException of one line, quickly. */
    private static String refused(Path file) {
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> ModelFile.load(file));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 1, "refused in " + seconds + " s");
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().length() < 400, "message of " + e.getMessage().length() + " characters");
        return e.getMessage();
    }

    @Test
    void aMillionBlocksIsRefusedAtOnce(@TempDir Path dir) throws Exception {
        String m = refused(crafted(dir, Map.of("num_blocks", "1000000")));
        assertTrue(m.contains("num_blocks") && m.contains("1024"), m);
        String list = "1,".repeat(1_000_000) + "1";
        assertTrue(refused(crafted(dir, Map.of("num_blocks", "2", "layers_per_block", list)))
                .contains("layers_per_block"));
    }

    @Test
    void hugeClassesOrImageSizeAreCheckedAgainstTheTensors(@TempDir Path dir) throws Exception {
        String classes = refused(crafted(dir, Map.of("num_classes", "10000000")));
        assertTrue(classes.contains("class_embed") && classes.contains("[3, 1, 64]"), classes);
        String image = refused(crafted(dir, Map.of("img_size", "1024")));
        assertTrue(image.contains("pos_embed"), image);
        String blocks = refused(crafted(dir, Map.of("num_blocks", "1", "layers_per_block", "2")));
        assertTrue(blocks.contains("1 blocks") && blocks.contains("hold 2"), blocks);
        String layers = refused(crafted(dir, Map.of("layers_per_block", "2,3")));
        assertTrue(layers.contains("block 1"), layers);
    }

    @Test
    void nonFiniteWeightsAreRefusedUnlessAllowed(@TempDir Path dir) throws Exception {
        TarFlow model = new TarFlow(CONFIG);
        try (GradMode g = GradMode.off()) {
            model.state().get("blocks.1.proj_out.weight").fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        }
        Path file = dir.resolve("nan.safetensors");
        ModelFile.save(file, model, Map.of());
        String m = refused(file);
        assertTrue(m.contains("blocks.1.proj_out.weight") && m.contains("--allow-nonfinite"), m);
        ModelFile.Loaded loaded =
                ModelFile.load(file, ModelFile.LoadOptions.defaults().withAllowNonFinite(true));
        assertEquals(CONFIG, loaded.model().config());
    }

    /**
     * Random hostile values for every configuration key: each load either gives the model the
     * tensors describe or fails with a one-line IOException, never another error, in well under a
     * second.
     */
    @Test
    void fuzzedMetadataValuesLoadOrFailInOneLine(@TempDir Path dir) throws Exception {
        List<String> keys = List.of(
                "in_channels",
                "img_size",
                "patch_size",
                "channels",
                "num_blocks",
                "layers_per_block",
                "head_dim",
                "mlp_expansion",
                "nvp",
                "num_classes");
        List<String> values = List.of(
                "-1",
                "0",
                "1",
                "2",
                "3",
                "4",
                "8",
                "16",
                "32",
                "64",
                "1000000",
                "2147483647",
                "-2147483648",
                "99999999999",
                "NaN",
                "1e9",
                "",
                " ",
                "abc",
                "2,1",
                "[2, 1]",
                "1,2,3",
                "True",
                "False",
                "x".repeat(100_000),
                "1,".repeat(5000) + "1");
        SplittableRandom random = new SplittableRandom(19);
        int loaded = 0;
        for (int round = 0; round < 100; round++) {
            Map<String, String> changes = new LinkedHashMap<>();
            int n = 1 + random.nextInt(3);
            for (int i = 0; i < n; i++) {
                changes.put(keys.get(random.nextInt(keys.size())), values.get(random.nextInt(values.size())));
            }
            Path file = crafted(dir, changes);
            long start = System.nanoTime();
            try {
                TarFlowConfig c = ModelFile.load(file).model().config();
                loaded++;
                assertEquals(CONFIG.numTokens(), c.numTokens(), changes::toString);
                assertEquals(CONFIG.tokenDim(), c.tokenDim(), changes::toString);
                assertEquals(CONFIG.layersPerBlock(), c.layersPerBlock(), changes::toString);
                assertEquals(CONFIG.numClasses(), c.numClasses(), changes::toString);
            } catch (IOException e) {
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
                assertTrue(
                        e.getMessage().length() < 400,
                        () -> changes.keySet() + ": message of "
                                + e.getMessage().length() + " characters");
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < 1, changes.keySet() + " took " + seconds + " s");
        }
        assertTrue(loaded > 0, "some rounds keep a valid configuration");
    }
}
