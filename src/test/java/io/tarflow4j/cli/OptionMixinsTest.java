package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The shared option mixins: each command's own defaults, flag checks before any work, output through the writers. */
class OptionMixinsTest {

    @Test
    void eachCommandKeepsItsOwnDefaults() {
        SampleCommand sample = new SampleCommand();
        new CommandLine(sample).parseArgs("--model", "m", "--out", "o.png");
        assertEquals(1, sample.model.threads.threads);
        assertEquals(64, sample.batch.size());
        CalibrateCommand calibrate = new CalibrateCommand();
        new CommandLine(calibrate).parseArgs("--model", "m", "--data", "d", "--out", "s.json");
        assertEquals(1, calibrate.model.threads.threads);
        EvalBpdCommand bpd = new EvalBpdCommand();
        new CommandLine(bpd).parseArgs("--model", "m");
        assertEquals(0, bpd.model.threads.threads);
        assertEquals(500, bpd.batch.size());
        EvalClassifyCommand classify = new EvalClassifyCommand();
        new CommandLine(classify).parseArgs("--model", "m");
        assertEquals(50, classify.batch.size());
        EvalOodCommand ood = new EvalOodCommand();
        new CommandLine(ood).parseArgs("--model", "m", "--ood", "d");
        assertEquals(200, ood.batch.size());
        ScoreCommand score = new ScoreCommand();
        new CommandLine(score).parseArgs("--model", "m", "x.png");
        assertEquals(100, score.batch.size());
        EvalSamplesCommand samples = new EvalSamplesCommand();
        new CommandLine(samples).parseArgs("--model", "m", "--threads", "3");
        assertEquals(100, samples.batch.size());
        assertEquals(3, samples.model.threads.threads);
    }

    @Test
    void helpNamesEachEvaluationsOwnReportFile() {
        for (String name : new String[] {"bpd", "classify", "ood", "samples"}) {
            CliRun r = CliRun.of("eval", name, "--help");
            assertEquals(0, r.status(), r.all());
            String help = r.out().replaceAll("\\s+", " ");
            assertTrue(help.contains("(default: eval-" + name + ".json beside the model)"), r.out());
            assertTrue(r.out().contains("--threads") && r.out().contains("--no-ema"), r.out());
        }
        String sample = CliRun.of("sample", "--help").out();
        assertTrue(sample.replaceAll("\\s+", " ").contains("--threads=N libtorch intra-op threads, default 1"), sample);
    }

    @Test
    void badSharedFlagsAreRefusedBeforeTheModelIsRead(@TempDir Path dir) {
        String missing = dir.resolve("nope.safetensors").toString();
        CliRun batch = CliRun.of("eval", "bpd", "--model", missing, "--batch", "0");
        assertEquals(2, batch.status(), batch.all());
        assertTrue(batch.err().contains("--batch must be >= 1, got 0"), batch.err());
        CliRun limit = CliRun.of("eval", "classify", "--model", missing, "--limit", "-1");
        assertEquals(2, limit.status(), limit.all());
        assertTrue(limit.err().contains("--limit must be >= 0, got -1"), limit.err());
        CliRun threads = CliRun.of("score", "--model", missing, "--threads", "-2", "x.png");
        assertEquals(2, threads.status(), threads.all());
        assertTrue(threads.err().contains("--threads must be >= 0"), threads.err());
        CliRun guide = CliRun.of("eval", "samples", "--model", missing, "--guide", "sideways");
        assertEquals(2, guide.status(), guide.all());
        assertTrue(guide.err().contains("--guide sideways: expected scale, shift or both"), guide.err());
    }

    @Test
    void libraryStreamsReachTheWriterWhole() {
        StringWriter text = new StringWriter();
        PrintStream stream = WriterStream.of(new PrintWriter(text, true));
        byte[] bytes = "größe → done\n".getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            stream.write(b); // one byte at a time: multi-byte characters arrive split
        }
        stream.print("\r[###   ] 3/6");
        stream.flush();
        assertEquals("größe → done\n\r[###   ] 3/6", text.toString());
    }
}
