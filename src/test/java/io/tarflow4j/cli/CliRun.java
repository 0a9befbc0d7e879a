package io.tarflow4j.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * One in-process run of the command line for tests: its exit status and what it printed.
 *
 * @param status exit status (0 success, 1 failure, 2 usage)
 * @param out standard output
 * @param err standard error
 */
record CliRun(int status, String out, String err) {

    /** Runs {@code tarflow ARGS} through {@link Main#run}, capturing both streams. */
    static synchronized CliRun of(String... args) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int status = Main.run(args);
            return new CliRun(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    /** Standard output and standard error together. */
    String all() {
        return out + err;
    }
}
