package io.tarflow4j.cli;

import io.tarflow4j.distributed.ParentWatch;
import io.tarflow4j.tensor.NativeAccounting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code tarflow} command line: one subcommand per job. */
@Command(
        name = "tarflow",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "TarFlow normalizing flows on libtorch: train, sample, score and evaluate image models.",
        subcommands = {
            TrainCommand.class,
            PrepareCommand.class,
            VerifyReferenceCommand.class,
            SampleCommand.class,
            CalibrateCommand.class,
            BenchCommand.class,
            ImportCommand.class,
            ExportCommand.class,
            ServeCommand.class,
            EvalCommand.class,
            ScoreCommand.class,
            TrainClassifierCommand.class,
            CommandLine.HelpCommand.class,
        })
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static {
        NativeAccounting.disableUnlessSet();
    }

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        ParentWatch.startIfLaunched(System.getenv(), System.in, System.err);
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status (0 success, 1 failure, 2 usage). */
    public static int run(String... args) {
        CommandLine cli = commandLine();
        try {
            return cli.execute(args);
        } finally {
            cli.getOut().flush();
            cli.getErr().flush();
        }
    }

    /**
     * The command line with its error handling: failures print one line on the error writer.
     * Commands print through {@link CommandLine#getOut()} and {@link CommandLine#getErr()}, so a
     * caller (a test) can send their output elsewhere with {@code setOut}/{@code setErr}.
     */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable cause = e;
            while ((cause instanceof UncheckedIOException || cause instanceof CommandLine.ExecutionException)
                    && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof NoSuchFileException n) {
                cmd.getErr()
                        .println("error: file not found: " + n.getFile()
                                + (n.getReason() == null ? "" : " (" + n.getReason() + ")"));
            } else if (cause instanceof IOException
                    || cause instanceof IllegalArgumentException
                    || cause instanceof IllegalStateException) {
                cmd.getErr().println("error: " + cause.getMessage());
            } else {
                cmd.getErr().println("error: " + cause);
                cause.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cli;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
