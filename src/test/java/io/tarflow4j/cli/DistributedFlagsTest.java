package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.training.MemoryEstimate;
import io.tarflow4j.training.Preset;
import io.tarflow4j.training.TrainingOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DistributedFlagsTest {
    private record Outcome(int status, String err) {}

    private static Outcome run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err, true));
        int status = cli.execute(args);
        return new Outcome(status, err.toString());
    }

    @Test
    void workersGetTheCommandLineWithoutNprocAndThreads() {
        assertEquals(
                List.of("bench", "distributed", "--arch", "fmnist-small", "--json"),
                DistributedFlags.workerArgs(List.of(
                        "bench",
                        "distributed",
                        "--nproc",
                        "2",
                        "--arch",
                        "fmnist-small",
                        "--threads=3",
                        "--json",
                        "--nproc=4",
                        "--threads",
                        "1")));
    }

    @Test
    void badDistributedFlagsAreUsageErrors() {
        String[][] cases = {
            {"--world-size", "2", "--rank", "2", "--master", "127.0.0.1:29500"},
            {"--rank must be in [0, 2)"},
            {"--world-size", "2", "--rank", "0"},
            {"--world-size 2 needs --rank and --master"},
            {"--world-size", "2", "--rank", "0", "--master", "localhost"},
            {"expected HOST:PORT"},
            {"--world-size", "2", "--rank", "0", "--master", "localhost:99999"},
            {"port 99999 is outside 1..65535"},
            {"--world-size", "0", "--rank", "0", "--master", "h:1"},
            {"--world-size must be at least 1"},
            {"--nproc", "0"},
            {"--nproc must be at least 1"},
            {"--nproc", "2", "--world-size", "2"},
            {"do not combine it with --world-size"},
            {"--rank", "1"},
            {"--rank and --master need --world-size"},
            {"--backend", "mpi", "--world-size", "2", "--rank", "0", "--master", "h:1"},
            {"expected gloo, nccl or auto"},
            {"--dist-timeout", "0", "--world-size", "2", "--rank", "0", "--master", "h:1"},
            {"--dist-timeout must be at least 1"},
            {"--nproc", "2", "--batch", "63"},
            {"--batch 63 must be a positive multiple of the 2 processes"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = new String[cases[i].length + 2];
            args[0] = "bench";
            args[1] = "distributed";
            System.arraycopy(cases[i], 0, args, 2, cases[i].length);
            Outcome o = run(args);
            assertEquals(2, o.status(), String.join(" ", args) + ": " + o.err());
            assertTrue(o.err().contains(cases[i + 1][0]), String.join(" ", args) + " printed: " + o.err());
        }
    }

    @Test
    void autoTakesOneProcessWhenTwoWorkersWouldNotFitInMemory() {
        DistributedFlags flags = new DistributedFlags();
        CommandLine cl = new CommandLine(flags);
        cl.parseArgs();
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(cores >= 2 ? 2 : 1, flags.chooseProcesses(cl, 64, true, false, true));
        assertEquals(1, flags.chooseProcesses(cl, 64, true, false, false), "two workers do not fit");

        // the main job's model fits twice over; afhq256 at batch 2 is two processes of about 11 GiB
        assertTrue(TrainCommand.twoWorkersFit(
                TrainingOptions.builder(Preset.FMNIST_SMALL).build()));
        TrainingOptions afhq = TrainingOptions.builder(Preset.AFHQ256)
                .data("/tmp/afhq")
                .batch(2)
                .build();
        TarFlowConfig config = afhq.modelConfig(afhq.channels(), afhq.imageSize(), 1);
        boolean fits = MemoryEstimate.of(config, 1, afhq.emaDecay() > 0, false).fits(2);
        assertEquals(fits, TrainCommand.twoWorkersFit(afhq));
    }
}
