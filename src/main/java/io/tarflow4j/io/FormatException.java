package io.tarflow4j.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A file exists and could be read but its content is not in the expected format.
 *
 * <p>The message always starts with the file's path followed by what was expected and what was
 * found, for example {@code model.safetensors: header length 9999999999 exceeds the file size 120}.
 */
public final class FormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /**
     * Creates an exception for a malformed file.
     *
     * @param file the offending file
     * @param problem what was expected and what was found
     */
    public FormatException(Path file, String problem) {
        super(Objects.requireNonNull(file, "file") + ": " + problem);
        this.file = file;
    }

    /**
     * Creates an exception for a malformed file with an underlying cause.
     *
     * @param file the offending file
     * @param problem what was expected and what was found
     * @param cause the low-level exception that revealed the problem
     */
    public FormatException(Path file, String problem, Throwable cause) {
        super(Objects.requireNonNull(file, "file") + ": " + problem, cause);
        this.file = file;
    }

    /**
     * Returns the offending file.
     *
     * @return the path given at construction
     */
    public Path file() {
        return file;
    }
}
