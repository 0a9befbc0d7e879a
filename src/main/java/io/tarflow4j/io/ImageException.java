package io.tarflow4j.io;

import java.io.IOException;

/**
 * An image that {@link Images#decode} refused: not in an accepted format, larger than the pixel
 * limit by its header, or undecodable. The message names the source.
 */
public final class ImageException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Why the image was refused. */
    public enum Problem {
        /** No accepted decoder recognised the content. */
        UNSUPPORTED,
        /** The header claims more pixels than the limit (nothing was decoded). */
        TOO_LARGE,
        /** The content is corrupt or truncated. */
        CORRUPT
    }

    private final Problem problem;
    private final String detail;

    /** An exception of kind {@code problem}, with the message {@code source: detail}. */
    public ImageException(Problem problem, String source, String detail, Throwable cause) {
        super(source + ": " + detail, cause);
        this.problem = problem;
        this.detail = detail;
    }

    /** The message without the source. */
    public String detail() {
        return detail;
    }

    /** Why the image was refused. */
    public Problem problem() {
        return problem;
    }
}
