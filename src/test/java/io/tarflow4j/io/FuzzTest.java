package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import io.tarflow4j.io.PickleBytes.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of the readers: every mutated input must either load or fail with an
 * {@link IOException} (normally a {@link FormatException}); never another exception, an error such
 * as {@link OutOfMemoryError}, or a hang.
 */
class FuzzTest {

    private static final long SEED = 0x7A6F_4A41L;
    private static final int ROUNDS = 2000;

    @TempDir
    Path dir;

    /** Reads one input; must succeed or throw IOException. */
    @FunctionalInterface
    private interface Reader {
        void read(Path file) throws IOException;
    }

    static byte[] mutate(byte[] base, Random rnd, int lengthFieldAt) {
        byte[] b = base.clone();
        int kind = rnd.nextInt(6);
        switch (kind) {
            case 0 -> { // bit flips
                int flips = 1 + rnd.nextInt(4);
                for (int i = 0; i < flips && b.length > 0; i++) {
                    int at = rnd.nextInt(b.length);
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, rnd.nextInt(b.length + 1)); // truncation
            case 2 -> { // insertion of random bytes
                int at = rnd.nextInt(b.length + 1);
                byte[] ins = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(ins);
                byte[] out = new byte[b.length + ins.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(ins, 0, out, at, ins.length);
                System.arraycopy(b, at, out, at + ins.length, b.length - at);
                b = out;
            }
            case 3 -> { // random length field at a known place (or anywhere)
                int at = lengthFieldAt >= 0 && rnd.nextBoolean()
                        ? lengthFieldAt
                        : rnd.nextInt(Math.max(1, b.length - 8));
                long v = switch (rnd.nextInt(3)) {
                    case 0 -> rnd.nextLong();
                    case 1 -> rnd.nextInt(1 << 16);
                    default -> (1L << rnd.nextInt(63)) + rnd.nextInt(3) - 1;
                };
                if (at + 8 <= b.length) {
                    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
                }
            }
            case 4 -> { // 32-bit length-like value anywhere
                if (b.length >= 4) {
                    int at = rnd.nextInt(b.length - 3);
                    ByteBuffer.wrap(b)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .putInt(at, rnd.nextBoolean() ? rnd.nextInt() : rnd.nextInt(1 << 12));
                }
            }
            default -> { // random byte overwrite run
                if (b.length > 0) {
                    int at = rnd.nextInt(b.length);
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(8));
                    for (int i = 0; i < len; i++) {
                        b[at + i] = (byte) rnd.nextInt(256);
                    }
                }
            }
        }
        return b;
    }

    private void fuzz(
            String label,
            byte[] base,
            int lengthFieldAt,
            long seed,
            Reader reader,
            java.util.function.Function<byte[], byte[]> wrap) {
        Path file = dir.resolve(label + ".bin");
        assertTimeoutPreemptively(
                Duration.ofSeconds(30),
                () -> {
                    Random rnd = new Random(seed);
                    for (int round = 0; round < ROUNDS; round++) {
                        byte[] mutated = mutate(base, rnd, lengthFieldAt);
                        Files.write(file, wrap.apply(mutated));
                        try {
                            reader.read(file);
                        } catch (IOException expected) {
                            // a clean refusal
                        } catch (Throwable t) {
                            fail(
                                    label + " round " + round + " (seed " + seed + "): " + t + " for input "
                                            + HexFormat.of().formatHex(mutated, 0, Math.min(mutated.length, 256)),
                                    t);
                        }
                    }
                },
                label + " fuzzing hung");
    }

    private static void touchAll(Map<String, RawTensor> tensors) {
        for (RawTensor t : tensors.values()) {
            t.toFloatArray();
        }
    }

    @Test
    void mutatedSafetensorsLoadOrFailCleanly() throws IOException {
        Path valid = dir.resolve("valid.safetensors");
        Safetensors.write(valid, SafetensorsTest.sample(), Map.of("k", "v"));
        fuzz(
                "safetensors",
                Files.readAllBytes(valid),
                0,
                SEED,
                f -> {
                    try (SafetensorsFile s = Safetensors.read(f)) {
                        touchAll(s.tensors());
                    }
                },
                b -> b);
    }

    private static byte[] statePickle() {
        return PickleBytes.stateDict(
                new TensorSpec("w", "FloatStorage", "0", 6, 0, new long[] {2, 3}, new long[] {3, 1}),
                new TensorSpec("wt", "FloatStorage", "0", 6, 0, new long[] {3, 2}, new long[] {1, 3}),
                new TensorSpec("y", "LongStorage", "1", 2, 1, new long[] {1}, new long[] {1}));
    }

    private static Map<String, byte[]> storages() {
        ByteBuffer f = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            f.putFloat(i);
        }
        return Map.of(
                "0",
                f.array(),
                "1",
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(3)
                        .putLong(-4)
                        .array());
    }

    private byte[] zipOf(byte[] pickle) {
        try {
            Path tmp = dir.resolve("build.pth");
            PickleBytes.writeZip(tmp, pickle, storages());
            return Files.readAllBytes(tmp);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void mutatedCheckpointZipsLoadOrFailCleanly() {
        fuzz("pth", zipOf(statePickle()), -1, SEED + 1, f -> touchAll(PyTorchCheckpoint.read(f)), b -> b);
    }

    @Test
    void mutatedPicklesLoadOrFailCleanly() {
        fuzz("pkl", statePickle(), -1, SEED + 2, f -> touchAll(PyTorchCheckpoint.read(f)), this::zipOf);
    }
}
