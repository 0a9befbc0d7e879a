package io.tarflow4j.distributed;

/**
 * A distributed operation failed: the master could not be reached, a peer died or stopped
 * answering within the timeout, or a port was taken.
 *
 * <p>It is an {@link IllegalStateException} so that the command line prints its message as
 * {@code error: ...} and exits with status 1; once it is thrown the process group is unusable.
 */
public final class DistributedException extends IllegalStateException {
    /** A failure described by {@code message}, caused by the native error {@code cause}. */
    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A failure described by {@code message}. */
    public DistributedException(String message) {
        super(message);
    }

    /**
     * The first line of a libtorch error message, without the C++ stack trace that JavaCPP
     * appends ("Exception raised from ...", frame lists).
     */
    static String nativeSummary(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        int cut = m.indexOf("Exception raised from");
        String head = (cut >= 0 ? m.substring(0, cut) : m).strip();
        int nl = head.indexOf('\n');
        head = nl >= 0 ? head.substring(0, nl).strip() : head;
        // Gloo prefixes its messages with the source location: "[/path/pair.cc:547] Connection closed".
        if (head.startsWith("[") && head.indexOf("] ") > 0) {
            head = head.substring(head.indexOf("] ") + 2);
        }
        return head.isEmpty() ? t.getClass().getSimpleName() : head;
    }
}
