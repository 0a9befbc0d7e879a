package io.tarflow4j.io;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Locates the reference fixtures on the test class path. */
final class Fixtures {

    private Fixtures() {}

    /** Returns the path of a fixture file, e.g. {@code cond_nvp.safetensors}. */
    static Path path(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) {
            throw new IllegalStateException("missing test fixture " + name);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
