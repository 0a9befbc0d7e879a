package io.tarflow4j.io;

/**
 * A short prefix of user input for error messages: a message must name what was wrong without
 * echoing a megabyte field back to the user (or to a web client).
 */
public final class Excerpt {
    /** Characters of the input an error message shows. */
    public static final int LENGTH = 40;

    private Excerpt() {}

    /** {@code text} itself when short, else its first {@link #LENGTH} characters and its length. */
    public static String of(String text) {
        if (text == null || text.length() <= LENGTH) {
            return text;
        }
        return text.substring(0, LENGTH) + "... (" + text.length() + " characters)";
    }
}
