package io.tarflow4j.io;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The content of a safetensors file: its tensors in header order and its string metadata.
 *
 * <p>The tensors' buffers are read-only slices of a memory mapping of the file (or of a heap copy
 * for small files). Java 21 cannot unmap a mapping deterministically, so {@link #close()} only
 * releases this object's references: buffers obtained before closing stay valid, and the mapping
 * is released by the garbage collector once no buffer refers to it. The file itself is not held
 * open, so it may be replaced (for example by an atomic rewrite) while tensors are in use.
 */
public final class SafetensorsFile implements AutoCloseable {

    private final Path path;
    private LinkedHashMap<String, RawTensor> tensors;
    private final Map<String, String> metadata;

    SafetensorsFile(Path path, LinkedHashMap<String, RawTensor> tensors, Map<String, String> metadata) {
        this.path = Objects.requireNonNull(path);
        this.tensors = tensors;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /**
     * Returns the file this content was read from.
     *
     * @return the path given to {@link Safetensors#read(Path)}
     */
    public Path path() {
        return path;
    }

    /**
     * Returns the tensors in the order of the header.
     *
     * @return an unmodifiable view of the name-to-tensor map (a {@link LinkedHashMap})
     * @throws IllegalStateException if this file has been closed
     */
    public Map<String, RawTensor> tensors() {
        return Collections.unmodifiableMap(open());
    }

    /**
     * Returns one tensor.
     *
     * @param name the tensor's name in the header
     * @return the tensor
     * @throws java.util.NoSuchElementException if there is no tensor of that name
     * @throws IllegalStateException if this file has been closed
     */
    public RawTensor tensor(String name) {
        RawTensor t = open().get(name);
        if (t == null) {
            throw new java.util.NoSuchElementException(path + ": no tensor named \"" + name + "\"");
        }
        return t;
    }

    /**
     * Returns the string metadata of the {@code __metadata__} header entry.
     *
     * @return an unmodifiable map in header order, empty if the file has none
     */
    public Map<String, String> metadata() {
        return metadata;
    }

    private LinkedHashMap<String, RawTensor> open() {
        LinkedHashMap<String, RawTensor> t = tensors;
        if (t == null) {
            throw new IllegalStateException(path + " has been closed");
        }
        return t;
    }

    /** Releases this object's references to the tensors; further access to them fails. */
    @Override
    public void close() {
        tensors = null;
    }
}
