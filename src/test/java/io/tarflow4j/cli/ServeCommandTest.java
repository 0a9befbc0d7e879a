package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Flag handling of {@code tarflow serve} (the server itself is tested in io.tarflow4j.serve). */
class ServeCommandTest {

    @Test
    void helpListsTheSafetyFlags() {
        CliRun r = CliRun.of("serve", "--help");
        assertEquals(0, r.status(), r.all());
        for (String flag : new String[] {"--model", "--port", "--host", "--max-batch", "--queue", "--threads"}) {
            assertTrue(r.all().contains(flag), flag + " missing from\n" + r.all());
        }
    }

    @Test
    void aMissingModelFileIsNamed(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path missing = dir.resolve("nope.safetensors");
        CliRun r = CliRun.of("serve", "--model", missing.toString(), "--port", "0");
        assertEquals(1, r.status(), r.all());
        assertTrue(r.all().contains("error: file not found: " + missing), r.all());
    }

    @Test
    void badLimitsNameTheFlag() throws Exception {
        String model = ModelCommandsTest.fixture("cond_nvp.safetensors").toString();
        Object[][] cases = {
            {new String[] {"--queue", "-1"}, "--queue"},
            {new String[] {"--max-batch", "0"}, "--max-batch"},
            {new String[] {"--port", "70000"}, "--port"},
            {new String[] {"--sigma", "-0.1"}, "--sigma"},
            {new String[] {"--max-body-mb", "0"}, "--max-body-mb"},
        };
        for (Object[] c : cases) {
            String[] extra = (String[]) c[0];
            String[] args = new String[3 + extra.length];
            args[0] = "serve";
            args[1] = "--model";
            args[2] = model;
            System.arraycopy(extra, 0, args, 3, extra.length);
            CliRun r = CliRun.of(args);
            assertEquals(1, r.status(), r.all());
            assertTrue(r.all().contains("error: ") && r.all().contains((String) c[1]), r.all());
        }
        CliRun r = CliRun.of("serve", "--model", model, "--port", "zero");
        assertEquals(2, r.status(), r.all());
    }

    @Test
    void aStrategyFileIsCheckedAtStartupAndNamed(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        String model = ModelCommandsTest.fixture("cond_nvp.safetensors").toString();
        Path missing = dir.resolve("missing.json");
        CliRun r = CliRun.of("serve", "--model", model, "--port", "0", "--strategy", missing.toString());
        assertEquals(1, r.status(), r.all());
        assertTrue(r.all().contains("error: file not found: " + missing), r.all());

        Path wrong = dir.resolve("three-blocks.json");
        io.tarflow4j.sampling.JacobiStrategy.uniform(3, io.tarflow4j.sampling.BlockStrategy.exact(16))
                .write(wrong);
        r = CliRun.of("serve", "--model", model, "--port", "0", "--strategy", wrong.toString());
        assertEquals(1, r.status(), r.all());
        String out = r.all();
        assertTrue(out.contains("error: " + wrong) && out.contains("3 blocks") && out.contains("the model has 2"), out);

        Path notJson = dir.resolve("notes.txt");
        java.nio.file.Files.writeString(notJson, "segments=8");
        r = CliRun.of("serve", "--model", model, "--port", "0", "--strategy", notJson.toString());
        assertEquals(1, r.status(), r.all());
        assertTrue(r.all().contains("error: " + notJson), r.all());
    }
}
