package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** verify-reference, import and export through the command line. */
class ModelCommandsTest {
    static Path fixture(String file) throws Exception {
        return Path.of(ModelCommandsTest.class.getResource("/fixtures/" + file).toURI());
    }

    @Test
    void verifyReferencePassesOnBothFixtures() throws Exception {
        for (String name : new String[] {"cond_nvp", "uncond_nvp_tempguide"}) {
            CliRun r =
                    CliRun.of("verify-reference", fixture(name + ".safetensors").toString(), "--quiet");
            assertEquals(0, r.status(), r.all());
            assertTrue(r.all().contains("0 mismatched"), r.all());
        }
    }

    @Test
    void verifyReferenceFailsNamingAnAlteredWeight(@TempDir Path dir) throws Exception {
        Map<String, RawTensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta;
        try (SafetensorsFile f = Safetensors.read(fixture("uncond_nvp_tempguide.safetensors"))) {
            tensors.putAll(f.tensors());
            meta = f.metadata();
        }
        String victim = "model.blocks.1.attn_blocks.0.mlp.main.2.weight";
        float[] w = tensors.get(victim).toFloatArray();
        w[7] += 0.01f;
        tensors.put(victim, RawTensor.ofFloats(tensors.get(victim).shape(), w));
        Path altered = dir.resolve("altered.safetensors");
        Safetensors.write(altered, tensors, meta);
        CliRun r = CliRun.of("verify-reference", altered.toString(), "--quiet");
        assertEquals(1, r.status());
        assertTrue(r.all().contains("FAIL forward.z"), r.all());
    }

    @Test
    void importedPthVerifiesAgainstTheFixture(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("imported.safetensors");
        CliRun r =
                CliRun.of("import", fixture("cond_nvp.pth").toString(), "--out", out.toString(), "--image-size", "8");
        assertEquals(0, r.status(), r.all());
        r = CliRun.of(
                "verify-reference", fixture("cond_nvp.safetensors").toString(), "--weights", out.toString(), "--quiet");
        assertEquals(0, r.status(), r.all());
        Path exported = dir.resolve("exported.safetensors");
        r = CliRun.of("export", out.toString(), "--out", exported.toString());
        assertEquals(0, r.status(), r.all());
        try (SafetensorsFile f = Safetensors.read(exported)) {
            assertTrue(f.tensors().containsKey("blocks.0.attn_blocks.1.attention.qkv.weight"));
            assertTrue(f.tensors().containsKey("blocks.1.attn_mask"));
            assertEquals("3", f.metadata().get("num_classes"));
        }
    }

    @Test
    void importRefusesAMismatchedImageSize(@TempDir Path dir) throws Exception {
        CliRun r = CliRun.of(
                "import",
                fixture("cond_nvp.pth").toString(),
                "--out",
                dir.resolve("x.safetensors").toString(),
                "--image-size",
                "32");
        assertEquals(1, r.status());
        assertTrue(r.all().contains("--image-size 32 does not match"), r.all());
    }

    @Test
    void missingFilesAreNamed(@TempDir Path dir) {
        CliRun r = CliRun.of(
                "export",
                dir.resolve("missing.safetensors").toString(),
                "--out",
                dir.resolve("o.safetensors").toString());
        assertEquals(1, r.status());
        assertTrue(r.all().contains("file not found: " + dir.resolve("missing.safetensors")), r.all());
    }
}
