package io.tarflow4j.distributed;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Map;

/**
 * Makes a worker process end with the {@link LocalLauncher} that started it. The launcher keeps
 * the write end of each worker's standard input open and never writes to it; when the launcher
 * is gone, however it ended ({@code kill -9} included), the operating system closes that end and
 * the worker reads end-of-file. A watcher thread then stops the worker at once, so no orphaned
 * worker keeps training (and writing to the run folder) on its own.
 */
public final class ParentWatch {
    /** Set (to {@code 1}) in a worker's environment by the launcher: watch standard input. */
    public static final String ENV = "TARFLOW_EXIT_WITH_LAUNCHER";
    /** The exit status of a worker whose launcher is gone. */
    public static final int STATUS = 70;

    private ParentWatch() {}

    /**
     * Starts the watcher when {@code env} asks for it ({@link #ENV}); otherwise does nothing.
     *
     * @param in this process's standard input, the launcher's pipe
     * @param err where the one-line notice goes
     * @return whether a watcher was started
     */
    public static boolean startIfLaunched(Map<String, String> env, InputStream in, PrintStream err) {
        if (!"1".equals(env.get(ENV))) {
            return false;
        }
        Thread t = new Thread(
                () -> {
                    byte[] discard = new byte[256];
                    try {
                        while (in.read(discard) >= 0) {
                            // the launcher never writes; anything read is ignored
                        }
                    } catch (IOException e) {
                        // a broken pipe means the same as end-of-file
                    }
                    err.println("worker " + ProcessHandle.current().pid() + ": the launcher is gone; stopping");
                    err.flush();
                    // halt, not exit: no shutdown hook may keep an orphan alive; files written atomically
                    // are intact and the run folder's lock goes with the process
                    java.lang.Runtime.getRuntime().halt(STATUS);
                },
                "tarflow-parent-watch");
        t.setDaemon(true);
        t.start();
        return true;
    }
}
