package io.tarflow4j.tensor;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * Frees every native object (tensors, scalars, vectors) created on this thread while it is open.
 *
 * <p>Without a scope, Bytedeco releases native memory only when the Java garbage collector
 * notices the wrapper objects, and a training loop grows by gigabytes before it does. Run each
 * step inside one:
 *
 * <pre>{@code
 * try (NativeScope step = NativeScope.open()) {
 *     Tensor loss = ...;
 *     result = step.keep(someTensorToReturn);
 * }
 * }</pre>
 *
 * <p>{@link #keep} hands a tensor to the enclosing scope (or, at top level, to the garbage
 * collector) so it outlives this one. Scopes nest and must be closed on the thread that opened
 * them, innermost first.
 */
public final class NativeScope implements AutoCloseable {
    private final PointerScope scope;

    private NativeScope() {
        this.scope = new PointerScope();
    }

    /** Opens a scope on the current thread. */
    public static NativeScope open() {
        return new NativeScope();
    }

    /**
     * Keeps {@code p} alive past this scope: it moves to the enclosing scope when there is one,
     * else it is freed when the garbage collector finds it unreachable.
     *
     * <p>(Bytedeco's own {@code PointerScope.detach} frees the pointer at once, the opposite of
     * what its name suggests; this method is the safe way.)
     */
    public <P extends Pointer> P keep(P p) {
        PointerScope outer = outerScope();
        if (outer != null) {
            outer.attach(p);
        } else {
            p.retainReference();
        }
        return p;
    }

    private PointerScope outerScope() {
        // The thread's scopes are a stack iterated innermost first: the one after ours is outer.
        var it = PointerScope.getScopeIterator();
        boolean seenOurs = false;
        while (it != null && it.hasNext()) {
            PointerScope s = it.next();
            if (seenOurs) {
                return s;
            }
            seenOurs = s == scope;
        }
        return null;
    }

    /** Frees what was created in this scope and not kept. */
    @Override
    public void close() {
        scope.close();
    }
}
