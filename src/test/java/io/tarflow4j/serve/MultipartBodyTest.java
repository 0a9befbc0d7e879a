package io.tarflow4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Parsing multipart/form-data bodies as browsers and curl send them. */
class MultipartBodyTest {
    private static final String TYPE = "multipart/form-data; boundary=\"XyZ\"";

    private static byte[] body(byte[] file) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(("--XyZ\r\nContent-Disposition: form-data; name=\"seed\"\r\n\r\n12\r\n"
                        + "--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.png\"\r\n"
                        + "Content-Type: image/png\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8));
        out.writeBytes(file);
        out.writeBytes("\r\n--XyZ--\r\n".getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    @Test
    void findsTheFilePartWithBinaryContentIntact() {
        // bytes that look like line breaks and a partial boundary must survive
        byte[] file = "\r\n--Xy\r\n\u0000\u00ff binary".getBytes(StandardCharsets.ISO_8859_1);
        MultipartBody parsed = MultipartBody.parse(TYPE, body(file));
        assertEquals(2, parsed.parts().size());
        assertEquals("seed", parsed.parts().get(0).name());
        assertArrayEquals("12".getBytes(), parsed.parts().get(0).body());
        MultipartBody.Part part = parsed.file("image");
        assertEquals("upload", part.name());
        assertEquals("a.png", part.filename());
        assertEquals("image/png", part.contentType());
        assertArrayEquals(file, part.body());
    }

    @Test
    void aFormWithoutFilesHasNoFilePart() {
        byte[] form = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--XyZ--".getBytes();
        assertNull(MultipartBody.parse(TYPE, form).file("image"));
    }

    @Test
    void malformedBodiesAreRefusedWith400() {
        for (String[] c : new String[][] {
            {"multipart/form-data", "--XyZ--", "boundary"},
            {TYPE, "no boundary here", "no part starts"},
            {TYPE, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"", "headers do not end"},
            {TYPE, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", "not closed"},
            {TYPE, "--XyZgarbage", "line break"},
        }) {
            HttpError e = assertThrows(HttpError.class, () -> MultipartBody.parse(c[0], c[1].getBytes()));
            assertEquals(400, e.status());
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
    }
}
