package io.tarflow4j.serve;

/**
 * A request that cannot be served, with the HTTP status to answer and a message for the client
 * (sent as {@code {"error": message}}).
 */
public final class HttpError extends RuntimeException {
    private final int status;

    /**
     * An error answer.
     *
     * @param status the HTTP status, 4xx or 5xx
     * @param message what was wrong, written for the person who sent the request
     */
    public HttpError(int status, String message) {
        super(message);
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("an error status must be 4xx or 5xx, got " + status);
        }
        this.status = status;
    }

    /** A 400 Bad Request. */
    public static HttpError badRequest(String message) {
        return new HttpError(400, message);
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }
}
