package io.tarflow4j.tensor;

/**
 * Whether {@link VectorMath} can run: the JDK's Vector API is an incubator module, present only
 * when the JVM starts with {@code --add-modules jdk.incubator.vector} (the {@code tarflow}
 * launcher and the test build do). Without it, callers take their libtorch path.
 */
public final class VectorSupport {
    private VectorSupport() {}

    /** True when the Vector API module is in the boot layer. */
    public static final boolean AVAILABLE =
            ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
}
