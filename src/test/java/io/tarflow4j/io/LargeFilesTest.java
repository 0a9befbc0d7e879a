package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tarflow4j.io.PickleBytes.TensorSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files and tensors over 2^31 bytes (a Java array's and a ByteBuffer's limit) written and read back. */
class LargeFilesTest {
    /** 2^31 + 64 bytes: one F32 tensor of 2^29 + 16 elements. */
    private static final long BIG = (1L << 31) + 64;

    @TempDir
    Path dir;

    /** A sparse file of {@code BIG} bytes: zeros, then the floats 1, 2, 3, 4 as its last 16 bytes. */
    private Path sparseSource() throws IOException {
        Path f = dir.resolve("source.bin");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(tail(), BIG - 16);
        }
        return f;
    }

    private static ByteBuffer tail() {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(1).putFloat(2).putFloat(3).putFloat(4);
        return b.flip();
    }

    private static float[] lastFloats(RawTensor t, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        t.bytes().get(t.bytes().size() - 4L * n, b);
        b.flip();
        float[] out = new float[n];
        b.asFloatBuffer().get(out);
        return out;
    }

    @Test
    void safetensorsOverTwoGigabytesRoundTrip() throws IOException {
        Path source = sparseSource();
        Path file = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(source, StandardOpenOption.READ)) {
            Map<String, RawTensor> tensors = new LinkedHashMap<>();
            tensors.put("big", new RawTensor(DType.F32, new long[] {BIG / 4}, ByteRegion.map(ch, 0, BIG)));
            tensors.put("after", RawTensor.ofFloats(new long[] {2}, new float[] {7, 8}));
            Safetensors.write(file, tensors, Map.of("k", "v"));
        }
        Files.delete(source);
        try (SafetensorsFile f = Safetensors.read(file)) {
            RawTensor big = f.tensor("big");
            assertArrayEquals(new long[] {BIG / 4}, big.shape());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4}, lastFloats(big, 5));
            assertArrayEquals(new float[] {7, 8}, f.tensor("after").toFloatArray(), "a tensor after 2^31 bytes");
            assertEquals("v", f.metadata().get("k"));
        }
    }

    @Test
    void pytorchStorageOverTwoGigabytesIsReadInPlace() throws IOException {
        Path source = sparseSource();
        long numel = BIG / 4;
        byte[] pickle = PickleBytes.stateDict(
                new TensorSpec("big", "FloatStorage", "0", numel, 0, new long[] {numel}, new long[] {1}),
                new TensorSpec("last", "FloatStorage", "0", numel, numel - 2, new long[] {2}, new long[] {1}));
        Path pth = dir.resolve("big.pth");
        try (FileChannel ch = FileChannel.open(source, StandardOpenOption.READ);
                OutputStream os = Files.newOutputStream(pth);
                ZipOutputStream zip = new ZipOutputStream(os)) {
            ByteRegion storage = ByteRegion.map(ch, 0, BIG);
            zip.setMethod(ZipOutputStream.STORED);
            put(zip, "archive/data.pkl", ByteRegion.of(ByteBuffer.wrap(pickle)));
            put(zip, "archive/byteorder", ByteRegion.of(ByteBuffer.wrap("little".getBytes(StandardCharsets.US_ASCII))));
            put(zip, "archive/data/0", storage);
        }
        Files.delete(source);
        Map<String, RawTensor> m = PyTorchCheckpoint.read(pth);
        assertEquals(BIG, m.get("big").bytes().size());
        assertArrayEquals(new float[] {0, 1, 2, 3, 4}, lastFloats(m.get("big"), 5));
        assertArrayEquals(new float[] {3, 4}, m.get("last").toFloatArray(), "a view at an offset past 2^31 bytes");
    }

    private static void put(ZipOutputStream zip, String name, ByteRegion data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        CRC32 crc = new CRC32();
        data.forEachBuffer(crc::update);
        e.setSize(data.size());
        e.setCompressedSize(data.size());
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        byte[] buf = new byte[1 << 20];
        data.forEachBuffer(p -> {
            while (p.hasRemaining()) {
                int n = Math.min(buf.length, p.remaining());
                p.get(buf, 0, n);
                try {
                    zip.write(buf, 0, n);
                } catch (IOException failed) {
                    throw new java.io.UncheckedIOException(failed);
                }
            }
        });
        zip.closeEntry();
    }
}
