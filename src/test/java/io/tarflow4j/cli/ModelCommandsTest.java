package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
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

    /** Runs the CLI, returning exit code and captured stdout+stderr. */
    static Object[] run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintStream p = new PrintStream(buf, true)) {
            System.setOut(p);
            System.setErr(p);
            int code = Main.run(args);
            return new Object[] {code, buf.toString()};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void verifyReferencePassesOnBothFixtures() throws Exception {
        for (String name : new String[] {"cond_nvp", "uncond_nvp_tempguide"}) {
            Object[] r = run("verify-reference", fixture(name + ".safetensors").toString(), "--quiet");
            assertEquals(0, r[0], (String) r[1]);
            assertTrue(((String) r[1]).contains("0 mismatched"), (String) r[1]);
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
        Object[] r = run("verify-reference", altered.toString(), "--quiet");
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains("FAIL forward.z"), (String) r[1]);
    }

    @Test
    void importedPthVerifiesAgainstTheFixture(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("imported.safetensors");
        Object[] r = run("import", fixture("cond_nvp.pth").toString(), "--out", out.toString(), "--image-size", "8");
        assertEquals(0, r[0], (String) r[1]);
        r = run("verify-reference", fixture("cond_nvp.safetensors").toString(), "--weights", out.toString(), "--quiet");
        assertEquals(0, r[0], (String) r[1]);
        Path exported = dir.resolve("exported.safetensors");
        r = run("export", out.toString(), "--out", exported.toString());
        assertEquals(0, r[0], (String) r[1]);
        try (SafetensorsFile f = Safetensors.read(exported)) {
            assertTrue(f.tensors().containsKey("blocks.0.attn_blocks.1.attention.qkv.weight"));
            assertTrue(f.tensors().containsKey("blocks.1.attn_mask"));
            assertEquals("3", f.metadata().get("num_classes"));
        }
    }

    @Test
    void importRefusesAMismatchedImageSize(@TempDir Path dir) throws Exception {
        Object[] r = run("import", fixture("cond_nvp.pth").toString(), "--out", dir.resolve("x.safetensors").toString(),
                "--image-size", "32");
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains("--image-size 32 does not match"), (String) r[1]);
    }

    @Test
    void missingFilesAreNamed(@TempDir Path dir) {
        Object[] r = run("export", dir.resolve("missing.safetensors").toString(), "--out", dir.resolve("o.safetensors").toString());
        assertEquals(1, r[0]);
        assertTrue(((String) r[1]).contains("file not found: " + dir.resolve("missing.safetensors")), (String) r[1]);
    }

}
