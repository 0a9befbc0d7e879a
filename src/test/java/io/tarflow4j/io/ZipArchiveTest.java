package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZipArchiveTest {
    @TempDir
    Path dir;

    private static String text(ByteRegion r) {
        ByteBuffer b = r.asBuffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return new String(out, StandardCharsets.UTF_8);
    }

    @Test
    void readsDeflatedEntriesThroughATemporaryFile() throws IOException {
        Path f = dir.resolve("deflated.zip");
        String content = "tensor bytes ".repeat(100_000);
        try (OutputStream os = Files.newOutputStream(f);
                ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("a/data/0"));
            zip.write(content.getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        try (ZipArchive z = ZipArchive.open(f)) {
            ZipArchive.Entry e = z.entry("a/data/0");
            assertEquals(8, e.method());
            assertTrue(e.compressedSize() < e.size());
            assertEquals(content, text(z.read(e)));
        }
    }

    @Test
    void readsZip64Directories() throws IOException {
        Path f = dir.resolve("small.zip");
        try (OutputStream os = Files.newOutputStream(f);
                ZipOutputStream zip = new ZipOutputStream(os)) {
            for (String name : new String[] {"a", "b"}) {
                zip.putNextEntry(new ZipEntry(name));
                zip.write(("entry " + name).getBytes(StandardCharsets.US_ASCII));
                zip.closeEntry();
            }
        }
        // rewrite the end record the way zip64 writers do: 0xFFFF/0xFFFFFFFF placeholders, the
        // real values in a zip64 end record found through its locator
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        int eocd = in.limit() - 22;
        long count = in.getShort(eocd + 10) & 0xFFFF;
        long cdSize = in.getInt(eocd + 12) & 0xFFFFFFFFL;
        long cdOffset = in.getInt(eocd + 16) & 0xFFFFFFFFL;
        ByteBuffer out = ByteBuffer.allocate(eocd + 56 + 20 + 22).order(ByteOrder.LITTLE_ENDIAN);
        out.put(in.duplicate().limit(eocd));
        out.putInt(0x06064b50)
                .putLong(44)
                .putShort((short) 45)
                .putShort((short) 45)
                .putInt(0)
                .putInt(0)
                .putLong(count)
                .putLong(count)
                .putLong(cdSize)
                .putLong(cdOffset);
        out.putInt(0x07064b50).putInt(0).putLong(eocd).putInt(1);
        out.putInt(0x06054b50)
                .putShort((short) 0)
                .putShort((short) 0)
                .putShort((short) -1)
                .putShort((short) -1)
                .putInt(-1)
                .putInt(-1)
                .putShort((short) 0);
        Path z64 = dir.resolve("zip64.zip");
        Files.write(z64, out.array());
        try (ZipArchive z = ZipArchive.open(z64)) {
            assertEquals(2, z.entries().size());
            assertEquals("entry b", text(z.read(z.entry("b"))));
        }
    }

    @Test
    void detectsCorruptDataByItsCrc() throws IOException {
        Path f = dir.resolve("stored.zip");
        byte[] data = "0123456789".repeat(10).getBytes(StandardCharsets.US_ASCII);
        try (OutputStream os = Files.newOutputStream(f);
                ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.setMethod(ZipOutputStream.STORED);
            PickleBytes.put(zip, "x", data);
        }
        byte[] all = Files.readAllBytes(f);
        all[30 + 1 + 5] ^= 1; // a byte of the entry's data (local header 30 bytes + name "x")
        Files.write(f, all);
        try (ZipArchive z = ZipArchive.open(f)) {
            FormatException e = assertThrows(FormatException.class, () -> z.read(z.entry("x")));
            assertTrue(e.getMessage().contains("x is corrupt: CRC-32"), e.getMessage());
        }
    }

    @Test
    void refusesFilesWithoutADirectory() throws IOException {
        Path f = dir.resolve("junk.zip");
        Files.write(f, new byte[100]);
        FormatException e =
                assertThrows(FormatException.class, () -> ZipArchive.open(f).close());
        assertTrue(e.getMessage().contains("no end-of-central-directory record"), e.getMessage());
    }
}
