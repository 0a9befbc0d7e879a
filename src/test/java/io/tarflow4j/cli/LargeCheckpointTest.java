package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.training.TrainingCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run whose AdamW state is over 2 GB (341 M parameters: width 768, 6 blocks x 8 layers, on
 * Fashion-MNIST at patch 7) is stopped after its first step, resumed, and ends with the same
 * weights as the uninterrupted run. Each run is its own process (about 6 GB each); minutes.
 */
@Tag("slow")
class LargeCheckpointTest {
    private static final String[] RECIPE = {
        "train",
        "--data",
        "fashion-mnist",
        "--width",
        "768",
        "--blocks",
        "6",
        "--layers",
        "8",
        "--patch",
        "7",
        "--batch",
        "2",
        "--steps",
        "2",
        "--checkpoint-every",
        "1",
        "--test-data",
        "none",
        "--sample-every",
        "0",
        "--nproc",
        "1",
        "--log-every",
        "1"
    };

    @TempDir
    Path tmp;

    private static void tarflow(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx2g",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertTrue(p.waitFor(30, TimeUnit.MINUTES), "tarflow " + String.join(" ", args) + " timed out");
        assertEquals(0, p.exitValue(), "tarflow " + String.join(" ", args));
    }

    private static String[] with(String... extra) {
        List<String> all = new ArrayList<>(List.of(RECIPE));
        all.addAll(List.of(extra));
        return all.toArray(String[]::new);
    }

    @Test
    void anOptimizerStateOverTwoGigabytesResumesExactly() throws Exception {
        Path parts = tmp.resolve("parts");
        Path whole = tmp.resolve("whole");
        tarflow(with("--stop-after", "1", "--out", parts.toString()));
        try (SafetensorsFile f = Safetensors.read(parts.resolve(TrainingCheckpoint.FILE))) {
            long bytes = f.tensor("optimizer.state").bytes().size();
            assertTrue(bytes > (1L << 31), "optimizer state of " + bytes + " bytes");
        }
        tarflow("train", "--resume", parts.toString(), "--log-every", "1", "--nproc", "1");
        tarflow(with("--out", whole.toString()));
        try (SafetensorsFile a = Safetensors.read(whole.resolve(TrainingCheckpoint.FILE));
                SafetensorsFile b = Safetensors.read(parts.resolve(TrainingCheckpoint.FILE))) {
            assertEquals("2", b.metadata().get("step"));
            for (String name : a.tensors().keySet()) {
                RawTensor x = a.tensor(name);
                if (name.startsWith("model.")) {
                    assertEquals(x, b.tensor(name), name);
                }
            }
        }
        assertTrue(Files.size(parts.resolve(TrainingCheckpoint.FILE)) > (1L << 32));
    }
}
