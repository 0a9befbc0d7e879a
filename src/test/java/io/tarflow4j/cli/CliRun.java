package io.tarflow4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * One in-process run of the command line for tests: its exit status and what it printed.
 *
 * @param status exit status (0 success, 1 failure, 2 usage)
 * @param out standard output
 * @param err standard error
 */
record CliRun(int status, String out, String err) {

    /** Runs {@code tarflow ARGS} as {@link Main#run} does, capturing the command's output and error writers. */
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
        int status = cli.execute(args);
        cli.getOut().flush();
        cli.getErr().flush();
        return new CliRun(status, out.toString(), err.toString());
    }

    /** Standard output and standard error together. */
    String all() {
        return out + err;
    }
}
