package io.tarflow4j.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A stream that decodes UTF-8 bytes into a command's picocli writer, for library code that logs
 * to a {@link PrintStream} (training runs, local worker output), so that all of a command's output
 * goes where {@code CommandLine.setOut/setErr} sends it.
 */
final class WriterStream extends OutputStream {
    private final PrintWriter writer;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private final ByteBuffer bytes = ByteBuffer.allocate(8192);
    private final CharBuffer chars = CharBuffer.allocate(8192);

    private WriterStream(PrintWriter writer) {
        this.writer = writer;
    }

    /** A print stream into {@code writer}, flushed at each line. */
    static PrintStream of(PrintWriter writer) {
        return new PrintStream(new WriterStream(writer), true, StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, bytes.remaining());
            bytes.put(b, off, n);
            off += n;
            len -= n;
            decode();
        }
    }

    /** Decodes the whole characters received so far; an incomplete sequence waits for its bytes. */
    private void decode() {
        bytes.flip();
        CoderResult result;
        do {
            result = decoder.decode(bytes, chars, false);
            chars.flip();
            writer.append(chars);
            chars.clear();
        } while (result.isOverflow());
        bytes.compact();
    }

    @Override
    public synchronized void flush() {
        writer.flush();
    }
}
