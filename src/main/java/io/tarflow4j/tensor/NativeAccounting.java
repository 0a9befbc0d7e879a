package io.tarflow4j.tensor;

/**
 * Turns off JavaCPP's native-memory accounting, which reads {@code /proc/self/statm} and takes a
 * process-wide lock for every tensor handle it creates; this code frees tensors with
 * {@link NativeScope}s instead, and the accounting costs a measurable share of sampling with two
 * threads (docs/sampling.md). Call before any JavaCPP class loads (this class loads none); a
 * user's own {@code -Dorg.bytedeco.javacpp.maxBytes} or {@code maxPhysicalBytes} wins.
 */
public final class NativeAccounting {
    private NativeAccounting() {}

    /** Sets JavaCPP's memory limits to "none" unless the user set them. */
    public static void disableUnlessSet() {
        setIfAbsent("org.bytedeco.javacpp.maxBytes", "0");
        setIfAbsent("org.bytedeco.javacpp.maxPhysicalBytes", "0");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
