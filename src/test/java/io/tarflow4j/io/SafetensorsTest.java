package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path dir;

    static LinkedHashMap<String, RawTensor> sample() {
        LinkedHashMap<String, RawTensor> m = new LinkedHashMap<>();
        m.put("z.weight", RawTensor.ofFloats(new long[] {2, 3}, new float[] {1, 2, 3, -4, 5.5f, Float.NaN}));
        m.put("a.labels", RawTensor.ofLongs(new long[] {3}, new long[] {-1, 0, 1L << 40}));
        m.put("pixels", RawTensor.ofInts(new long[] {1, 1}, new int[] {255}));
        m.put("empty", RawTensor.ofFloats(new long[] {0, 4}, new float[0]));
        m.put("scalar", RawTensor.ofFloats(new long[] {}, new float[] {7f}));
        return m;
    }

    @Test
    void roundTripKeepsOrderValuesAndMetadata() throws IOException {
        Path p = dir.resolve("m.safetensors");
        Map<String, String> meta = Map.of("format", "pt", "seed", "12");
        Safetensors.write(p, sample(), meta);
        byte[] bytes = Files.readAllBytes(p);
        long headerLength =
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLength) % 8, "data starts 8-aligned");
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\""), header);
        assertTrue(header.contains("\"data_offsets\":[24,48]"), header);
        try (SafetensorsFile f = Safetensors.read(p)) {
            assertEquals(List.copyOf(sample().keySet()), List.copyOf(f.tensors().keySet()));
            assertEquals(sample(), f.tensors());
            assertEquals(meta, f.metadata());
            assertArrayEquals(new long[] {-1, 0, 1L << 40}, f.tensor("a.labels").toLongArray());
            assertTrue(f.tensor("pixels").data().isReadOnly());
        }
    }

    @Test
    void largeFilesAreMemoryMapped() throws IOException {
        Path p = dir.resolve("big.safetensors");
        float[] values = new float[(int) (Safetensors.MAP_THRESHOLD / 4) + 10];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f;
        }
        Safetensors.write(p, Map.of("w", RawTensor.ofFloats(new long[] {values.length}, values)));
        try (SafetensorsFile f = Safetensors.read(p)) {
            ByteBuffer data = f.tensor("w").data();
            assertTrue(data.isDirect(), "mapped buffer");
            assertArrayEquals(values, f.tensor("w").toFloatArray());
        }
    }

    @Test
    void closedFileRefusesAccess() throws IOException {
        Path p = dir.resolve("c.safetensors");
        Safetensors.write(p, sample());
        SafetensorsFile f = Safetensors.read(p);
        RawTensor kept = f.tensor("pixels");
        f.close();
        assertThrows(IllegalStateException.class, f::tensors);
        assertArrayEquals(new int[] {255}, kept.toIntArray());
        assertTrue(f.metadata().isEmpty());
    }

    @Test
    void readsTheCondFixture() throws IOException {
        try (SafetensorsFile f = Safetensors.read(Fixtures.path("cond_nvp.safetensors"))) {
            assertArrayEquals(
                    new long[] {128, 4},
                    f.tensor("model.blocks.0.proj_in.weight").shape());
            RawTensor x = f.tensor("input.x");
            assertEquals(DType.F32, x.dtype());
            assertArrayEquals(new long[] {3, 1, 8, 8}, x.shape());
            for (float v : x.toFloatArray()) {
                assertTrue(v >= -1f && v <= 1f, "image values in [-1, 1]");
            }
            assertEquals(DType.I64, f.tensor("input.y").dtype());
            assertEquals(DType.I32, f.tensor("bpd.pixels").dtype());
            for (int v : f.tensor("bpd.pixels").toIntArray()) {
                assertTrue(v >= 0 && v <= 255);
            }
            assertEquals("True", f.metadata().get("nvp"));
        }
    }

    @Test
    void readsTheUncondFixture() throws IOException {
        try (SafetensorsFile f = Safetensors.read(Fixtures.path("uncond_nvp_tempguide.safetensors"))) {
            assertEquals("0", f.metadata().get("num_classes"));
            assertEquals(
                    "adamw.blocks.0.attn_blocks.0.attention.norm.bias",
                    f.tensors().keySet().iterator().next());
            assertArrayEquals(
                    new long[] {64},
                    f.tensor("model.blocks.0.attn_blocks.0.attention.norm.bias").shape());
            assertTrue(f.tensors().size() > 50);
        }
    }

    private Path withHeader(String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static void assertFormat(Path p, String... fragments) {
        FormatException e = assertThrows(FormatException.class, () -> Safetensors.read(p));
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        assertEquals(p, e.file());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
    }

    @Test
    void rejectsCorruptFiles() throws IOException {
        Path shortFile = dir.resolve("short.safetensors");
        Files.write(shortFile, new byte[5]);
        assertFormat(shortFile, "too short", "found 5");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(
                huge,
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(-2)
                        .array());
        assertFormat(huge, "absurd");
        Files.write(
                huge,
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(1L << 28)
                        .array());
        assertFormat(huge, "absurd");
        Files.write(
                huge,
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(100)
                        .array());
        assertFormat(huge, "header length 100 exceeds the 8 bytes");

        assertFormat(withHeader("{\"a\": ", 0), "not valid JSON");
        assertFormat(withHeader("[1,2]", 0), "expected a JSON object");
        assertFormat(withHeader("{\"a\":{},\"a\":{}}", 0), "not valid JSON", "Duplicate");
        assertFormat(
                withHeader("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "tensor \"a\"",
                "unknown dtype \"Q7\"");
        assertFormat(
                withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4),
                "out of range",
                "<= 4");
        assertFormat(
                withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8),
                "needs 8 bytes",
                "span 4");
        assertFormat(
                withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
                "non-negative dimensions");
        assertFormat(
                withHeader(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296]," + "\"data_offsets\":[0,4]}}", 4),
                "overflows");
        assertFormat(
                withHeader(
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        8),
                "overlap");
        assertFormat(
                withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4),
                "to hold integers");
        assertFormat(withHeader("{\"__metadata__\":{\"k\":1}}", 0), "__metadata__.k", "expected a string");
    }

    @Test
    void writeRejectsReservedName() {
        assertThrows(
                IllegalArgumentException.class,
                () -> Safetensors.write(
                        dir.resolve("x.safetensors"),
                        Map.of("__metadata__", RawTensor.ofInts(new long[] {1}, new int[] {1}))));
    }
}
