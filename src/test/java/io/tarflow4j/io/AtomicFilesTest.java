package io.tarflow4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path dir;

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void writesAndReplaces() throws IOException {
        Path p = dir.resolve("a.bin");
        AtomicFiles.write(p, new byte[] {1, 2, 3});
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(p));
        AtomicFiles.write(p, out -> out.write("hello".getBytes(StandardCharsets.UTF_8)));
        assertEquals("hello", Files.readString(p));
        assertEquals(List.of(p), listing(), "no temporary file left behind");
    }

    @Test
    void failingWriterLeavesTheExistingFileUntouched() throws IOException {
        Path p = dir.resolve("good.bin");
        Files.writeString(p, "good content");
        IOException boom = new IOException("disk on fire");
        IOException e = assertThrows(
                IOException.class,
                () -> AtomicFiles.write(p, out -> {
                    out.write(new byte[100_000]);
                    throw boom;
                }));
        assertSame(boom, e);
        RuntimeException r = assertThrows(
                RuntimeException.class,
                () -> AtomicFiles.writeChannel(p, ch -> {
                    ch.write(java.nio.ByteBuffer.wrap(new byte[10]));
                    throw new IllegalStateException("bug");
                }));
        assertEquals("bug", r.getMessage());
        assertEquals("good content", Files.readString(p));
        assertEquals(List.of(p), listing(), "temporary files are removed");
    }

    @Test
    void unwritableTargetsNameThePath() throws IOException {
        Path missing = dir.resolve("no/such/dir/f.bin");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(missing, new byte[1]));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        Path sub = Files.createDirectory(dir.resolve("sub"));
        IOException d = assertThrows(IOException.class, () -> AtomicFiles.write(sub, new byte[1]));
        assertTrue(d.getMessage().contains(sub.toString()) && d.getMessage().contains("directory"), d.getMessage());
    }
}
