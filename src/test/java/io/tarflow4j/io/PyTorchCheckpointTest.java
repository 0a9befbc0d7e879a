package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.io.PickleBytes.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PyTorchCheckpointTest {

    @TempDir
    Path dir;

    private static void assertMatchesSafetensors(String name) throws IOException {
        LinkedHashMap<String, RawTensor> pth = PyTorchCheckpoint.read(Fixtures.path(name + ".pth"));
        try (SafetensorsFile st = Safetensors.read(Fixtures.path(name + ".safetensors"))) {
            int compared = 0;
            for (Map.Entry<String, RawTensor> e : st.tensors().entrySet()) {
                if (!e.getKey().startsWith("model.")) {
                    continue;
                }
                String key = e.getKey().substring("model.".length());
                RawTensor t = pth.get(key);
                assertTrue(t != null, name + ".pth lacks " + key);
                assertEquals(e.getValue(), t, key + " differs");
                compared++;
            }
            assertEquals(pth.size(), compared, "every .pth tensor has a model.* counterpart");
            assertTrue(compared > 10);
        }
    }

    @Test
    void condFixtureMatchesSafetensorsBitwise() throws IOException {
        assertMatchesSafetensors("cond_nvp");
        LinkedHashMap<String, RawTensor> pth = PyTorchCheckpoint.read(Fixtures.path("cond_nvp.pth"));
        assertArrayEquals(
                new long[] {128, 4}, pth.get("blocks.0.proj_in.weight").shape());
    }

    @Test
    void uncondFixtureMatchesSafetensorsBitwise() throws IOException {
        assertMatchesSafetensors("uncond_nvp_tempguide");
        List<String> keys = List.copyOf(PyTorchCheckpoint.read(Fixtures.path("uncond_nvp_tempguide.pth"))
                .keySet());
        assertEquals("var", keys.get(0), "state dict order is kept");
        assertEquals("blocks.0.pos_embed", keys.get(1));
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private Path zip(byte[] pickle, Map<String, byte[]> storages) throws IOException {
        Path p = dir.resolve("t" + System.nanoTime() + ".pth");
        PickleBytes.writeZip(p, pickle, storages);
        return p;
    }

    @Test
    void honoursOffsetsStridesSharedStoragesAndDtypes() throws IOException {
        float[] s = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
        ByteBuffer longs = ByteBuffer.allocate(16)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(-3)
                .putLong(1L << 33);
        byte[] pickle = PickleBytes.stateDict(
                new TensorSpec("whole", "FloatStorage", "0", 12, 0, new long[] {3, 4}, new long[] {4, 1}),
                new TensorSpec("transposed", "FloatStorage", "0", 12, 0, new long[] {4, 3}, new long[] {1, 4}),
                new TensorSpec("row1", "FloatStorage", "0", 12, 4, new long[] {4}, new long[] {1}),
                new TensorSpec("every3rd", "FloatStorage", "0", 12, 2, new long[] {2, 2}, new long[] {6, 3}),
                new TensorSpec("scalar", "FloatStorage", "0", 12, 11, new long[] {}, new long[] {}),
                new TensorSpec("empty", "FloatStorage", "0", 12, 0, new long[] {0, 3}, new long[] {3, 1}),
                new TensorSpec("labels", "LongStorage", "1", 2, 0, new long[] {2}, new long[] {1}));
        Map<String, RawTensor> m = PyTorchCheckpoint.read(zip(pickle, Map.of("0", floats(s), "1", longs.array())));
        assertEquals(
                List.of("whole", "transposed", "row1", "every3rd", "scalar", "empty", "labels"),
                List.copyOf(m.keySet()));
        assertEquals(RawTensor.ofFloats(new long[] {3, 4}, s), m.get("whole"));
        assertEquals(
                RawTensor.ofFloats(new long[] {4, 3}, new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}),
                m.get("transposed"));
        assertEquals(RawTensor.ofFloats(new long[] {4}, new float[] {4, 5, 6, 7}), m.get("row1"));
        assertEquals(RawTensor.ofFloats(new long[] {2, 2}, new float[] {2, 5, 8, 11}), m.get("every3rd"));
        assertEquals(RawTensor.ofFloats(new long[] {}, new float[] {11}), m.get("scalar"));
        assertEquals(0, m.get("empty").numel());
        assertArrayEquals(new long[] {-3, 1L << 33}, m.get("labels").toLongArray());
        assertTrue(m.get("whole").data().isReadOnly());
    }

    private static FormatException refused(Path p, String... fragments) {
        FormatException e = assertThrows(FormatException.class, () -> PyTorchCheckpoint.read(p));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage());
        }
        return e;
    }

    @Test
    void refusesDisallowedGlobalsWithoutRunningThem() throws IOException {
        Path marker = dir.resolve("pwned");
        for (String[] g : new String[][] {
            {"os", "system"}, {"builtins", "eval"}, {"__builtin__", "getattr"}, {"posix", "system"}, {"torch", "load"}
        }) {
            byte[] pickle = new PickleBytes()
                    .proto()
                    .global(g[0], g[1])
                    .str("touch " + marker)
                    .op(0x85)
                    .op('R')
                    .stop()
                    .bytes();
            refused(zip(pickle, Map.of()), "global \"" + g[0] + " " + g[1] + "\" is not allowed", "data.pkl");
        }
        assertTrue(!Files.exists(marker));
    }

    @Test
    void refusesUnknownOpcodesAndMalformedPickles() throws IOException {
        refused(zip(new PickleBytes().proto().op(0x93).stop().bytes(), Map.of()), "unsupported pickle opcode 0x93");
        refused(zip(new PickleBytes().proto().op('i').stop().bytes(), Map.of()), "opcode 0x69");
        refused(zip(new PickleBytes().proto().op('}').bytes(), Map.of()), "truncated pickle");
        refused(zip(new PickleBytes().proto().op('s').stop().bytes(), Map.of()), "stack underflow");
        refused(zip(new PickleBytes().proto().op('h').op(9).stop().bytes(), Map.of()), "memo entry 9");
        refused(
                zip(new PickleBytes().proto().op(']').stop().bytes(), Map.of()),
                "holds a list",
                "expected a state dict");
        refused(
                zip(
                        new PickleBytes()
                                .proto()
                                .op('}')
                                .str("k")
                                .integer(5)
                                .op('s')
                                .stop()
                                .bytes(),
                        Map.of()),
                "entry \"k\" is a int",
                "expected a tensor");
        refused(
                zip(
                        new PickleBytes()
                                .proto()
                                .op('}')
                                .op(']')
                                .op(']')
                                .op('s')
                                .stop()
                                .bytes(),
                        Map.of()),
                "dict key of type list");
    }

    @Test
    void refusesStoragesShorterThanTheirTensors() throws IOException {
        byte[] pickle =
                PickleBytes.stateDict(new TensorSpec("w", "FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1}));
        refused(zip(pickle, Map.of("0", floats(1, 2, 3))), "archive/data/0 has 12 bytes", "needs 16");
        byte[] view = PickleBytes.stateDict(
                new TensorSpec("w", "FloatStorage", "0", 4, 2, new long[] {2, 2}, new long[] {2, 1}));
        refused(zip(view, Map.of("0", floats(1, 2, 3, 4))), "has 4 elements", "needs 6");
        refused(zip(pickle, Map.of()), "missing zip entry archive/data/0");
    }

    @Test
    void hugeDeclaredSizesFailFastWithoutAllocating() throws IOException {
        long huge = 1L << 40;
        byte[] pickle = PickleBytes.stateDict(
                new TensorSpec("w", "FloatStorage", "0", huge, 0, new long[] {huge}, new long[] {1}));
        byte[] overflow = PickleBytes.stateDict(new TensorSpec(
                "w",
                "DoubleStorage",
                "0",
                Long.MAX_VALUE / 4,
                0,
                new long[] {1L << 31, 1L << 31, 1L << 31},
                new long[] {1, 1, 1}));
        byte[] longString =
                new PickleBytes().proto().op('X').le(0xFFFFFFF0L, 4).stop().bytes();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            refused(zip(pickle, Map.of("0", floats(1))), "needs 4398046511104");
            refused(zip(overflow, Map.of("0", floats(1))), "overflows");
            refused(zip(longString, Map.of()), "truncated pickle", "expected 4294967280 more bytes");
        });
    }

    @Test
    void refusesNonZipLegacyAndTruncatedFiles() throws IOException {
        Path legacy = dir.resolve("legacy.pt");
        Files.write(legacy, new byte[] {
            (byte) 0x80,
            0x02,
            (byte) 0x8a,
            0x0a,
            0x6c,
            (byte) 0xfc,
            (byte) 0x9c,
            0x46,
            (byte) 0xf9,
            0x20,
            0x6a,
            (byte) 0xa8,
            0x50,
            0x19,
            0x2e
        });
        refused(legacy, "legacy PyTorch format not supported", "_use_new_zipfile_serialization=True");
        Path text = dir.resolve("text.pth");
        Files.writeString(text, "hello");
        refused(text, "expected the zip signature 504b0304, found 68656c6c");
        Path empty = dir.resolve("empty.pth");
        Files.write(empty, new byte[0]);
        refused(empty, "an empty file");

        byte[] full = Files.readAllBytes(Fixtures.path("uncond_nvp_tempguide.pth"));
        Path truncated = dir.resolve("truncated.pth");
        for (int cut : new int[] {full.length / 2, full.length - 30, 100}) {
            Files.write(truncated, Arrays.copyOf(full, cut));
            refused(truncated);
        }
        Path noPickle = zip(new byte[0], Map.of());
        Files.write(noPickle, Files.readAllBytes(noPickle)); // still a valid zip, empty data.pkl
        refused(noPickle, "truncated pickle");
    }

    @Test
    void refusesBigEndianArchives() throws IOException {
        Path p = dir.resolve("be.pth");
        try (var os = Files.newOutputStream(p);
                var z = new java.util.zip.ZipOutputStream(os)) {
            z.putNextEntry(new java.util.zip.ZipEntry("a/data.pkl"));
            z.write(new PickleBytes().proto().op('}').stop().bytes());
            z.putNextEntry(new java.util.zip.ZipEntry("a/byteorder"));
            z.write("big".getBytes());
        }
        refused(p, "byteorder \"big\", expected \"little\"");
    }
}
