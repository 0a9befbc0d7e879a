package io.tarflow4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Tensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFileTest {
    static Path fixture(String file) throws Exception {
        return Path.of(ModelFileTest.class.getResource("/fixtures/" + file).toURI());
    }

    @Test
    void pthAndSafetensorsFixturesLoadTheSameModel() throws Exception {
        for (String name : List.of("cond_nvp", "uncond_nvp_tempguide")) {
            TarFlow fromPth = ModelFile.load(fixture(name + ".pth")).model();
            TarFlow fromSt = ModelFile.load(fixture(name + ".safetensors")).model();
            assertEquals(fromSt.config(), fromPth.config(), "config inferred from the .pth shapes");
            for (var e : fromSt.state().entrySet()) {
                assertEquals(0, Tensors.maxAbsDiff(e.getValue(), fromPth.state().get(e.getKey())), e.getKey());
            }
        }
    }

    @Test
    void inferenceFindsEveryField() throws Exception {
        TarFlowConfig c = ModelFile.load(fixture("cond_nvp.pth")).model().config();
        assertEquals(TarFlowConfig.of(1, 8, 2, 128, 2, 2, true, 3), c);
        TarFlowConfig u =
                ModelFile.load(fixture("uncond_nvp_tempguide.pth")).model().config();
        assertEquals(TarFlowConfig.of(3, 8, 4, 64, 2, 1, true, 0), u);
    }

    @Test
    void saveThenLoadGivesTheSameSamples(@TempDir Path dir) throws Exception {
        TarFlow model = ModelFile.load(fixture("cond_nvp.safetensors")).model();
        Path out = dir.resolve("model.safetensors");
        ModelFile.save(out, model, Map.of(ModelFile.NOISE, "gaussian:0.1"));
        ModelFile.Loaded back = ModelFile.load(out);
        assertEquals(0.1, back.sigma(0), 0);
        Tensor noise = torch.randn(2, 16, 4);
        Tensor y = Tensors.fromLongs(new long[] {0, 2}, 2);
        assertEquals(
                0,
                Tensors.maxAbsDiff(
                        model.reverse(noise, y, Guidance.NONE), back.model().reverse(noise, y, Guidance.NONE)));
    }

    @Test
    void stateDictWithoutMetadataIsInferred(@TempDir Path dir) throws Exception {
        TarFlow model = new TarFlow(new TarFlowConfig(1, 8, 2, 64, List.of(2, 1), 64, 4, false, 5));
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        model.state().forEach((k, v) -> tensors.put(k, RawTensors.fromTensor(v)));
        Path out = dir.resolve("bare.safetensors");
        Safetensors.write(out, tensors);
        assertEquals(model.config(), ModelFile.load(out).model().config());
    }

    @Test
    void emaWeightsArePreferredWhenPresent(@TempDir Path dir) throws Exception {
        TarFlow model = new TarFlow(TarFlowConfig.of(1, 4, 2, 64, 1, 1, true, 0));
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        model.state().forEach((k, v) -> tensors.put("model." + k, RawTensors.fromTensor(v)));
        try (GradMode g = GradMode.off()) {
            model.parameters()
                    .forEach((k, v) ->
                            tensors.put("ema." + k, RawTensors.fromTensor(v.add(io.tarflow4j.tensor.Ops.s(1)))));
        }
        Path out = dir.resolve("ckpt.safetensors");
        Safetensors.write(out, tensors);
        ModelFile.Loaded ema = ModelFile.load(out);
        assertTrue(ema.usedEma());
        Tensor w = ema.model().parameters().get("blocks.0.proj_in.bias");
        assertEquals(1, Tensors.maxAbsDiff(w, model.parameters().get("blocks.0.proj_in.bias")), 1e-6);
        ModelFile.Loaded raw =
                ModelFile.load(out, new ModelFile.LoadOptions(0, 0, false, new org.bytedeco.pytorch.Device("cpu")));
        assertFalse(raw.usedEma());
    }

    @Test
    void badFilesGetClearErrors(@TempDir Path dir) throws Exception {
        assertThrows(NoSuchFileException.class, () -> ModelFile.load(dir.resolve("nope.safetensors")));
        Path junk = dir.resolve("junk.safetensors");
        Files.writeString(junk, "this is not a model");
        IOException e = assertThrows(IOException.class, () -> ModelFile.load(junk));
        assertTrue(e.getMessage().contains("junk.safetensors"), e.getMessage());
        Path other = dir.resolve("other.safetensors");
        Safetensors.write(other, Map.of("weight", RawTensor.ofFloats(new long[] {2}, new float[] {1, 2})));
        e = assertThrows(IOException.class, () -> ModelFile.load(other));
        assertTrue(e.getMessage().contains("blocks.0.proj_in.weight is missing"), e.getMessage());
    }
}
