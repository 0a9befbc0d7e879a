package io.tarflow4j.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A dataset file or folder could not be read: it is missing, truncated, corrupt, or does not
 * have the layout that was expected. The message names the file and says what was expected and
 * what was found.
 */
public final class DataException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /**
     * Creates an exception that is not about one particular file.
     *
     * @param message what went wrong
     */
    public DataException(String message) {
        super(message);
        this.file = null;
    }

    /**
     * Creates an exception about one file; the message is prefixed with the file's path.
     *
     * @param file the file or folder concerned
     * @param problem what was expected and what was found
     */
    public DataException(Path file, String problem) {
        this(file, problem, null);
    }

    /**
     * Creates an exception about one file, with its underlying cause.
     *
     * @param file the file or folder concerned
     * @param problem what was expected and what was found
     * @param cause the underlying failure, or {@code null}
     */
    public DataException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /**
     * Returns the file or folder the problem is about.
     *
     * @return the path, or {@code null} when the problem is not about one file
     */
    public Path file() {
        return file;
    }
}
