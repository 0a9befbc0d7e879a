package io.tarflow4j.serve;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A {@code multipart/form-data} body (RFC 7578) split into its parts; enough for a browser form
 * or {@code curl -F image=@file.png}.
 */
public final class MultipartBody {
    private final List<Part> parts;

    private MultipartBody(List<Part> parts) {
        this.parts = List.copyOf(parts);
    }

    /**
     * One part of the body.
     *
     * @param name the form field name, or null
     * @param filename the uploaded file's name, or null for a plain field
     * @param contentType the part's declared type, or null
     * @param body the part's bytes
     */
    public record Part(String name, String filename, String contentType, byte[] body) {}

    /**
     * Parses a body.
     *
     * @param contentType the request's Content-Type header, with its {@code boundary} parameter
     * @param body the request body
     * @throws HttpError 400 when the boundary is missing or the body is not well-formed
     */
    public static MultipartBody parse(String contentType, byte[] body) {
        byte[] delimiter = ("--" + boundary(contentType)).getBytes(StandardCharsets.ISO_8859_1);
        byte[] crlf = {'\r', '\n'};
        int at = indexOf(body, delimiter, 0);
        if (at < 0) {
            throw malformed("no part starts with the boundary");
        }
        List<Part> parts = new ArrayList<>();
        while (true) {
            int after = at + delimiter.length;
            if (startsWith(body, after, new byte[] {'-', '-'})) {
                break;
            }
            if (!startsWith(body, after, crlf)) {
                throw malformed("the boundary is not followed by a line break");
            }
            int headersStart = after + 2;
            int headersEnd = indexOf(body, new byte[] {'\r', '\n', '\r', '\n'}, headersStart);
            if (headersEnd < 0) {
                throw malformed("a part's headers do not end");
            }
            byte[] next = concat(crlf, delimiter);
            int end = indexOf(body, next, headersEnd + 4);
            if (end < 0) {
                throw malformed("the last part is not closed by the boundary");
            }
            String headers = new String(body, headersStart, headersEnd - headersStart, StandardCharsets.UTF_8);
            parts.add(part(headers, Arrays.copyOfRange(body, headersEnd + 4, end)));
            at = end + 2;
        }
        return new MultipartBody(parts);
    }

    /** The parts in order. */
    public List<Part> parts() {
        return parts;
    }

    /** The part named {@code name}, else the first file part, else null. */
    public Part file(String name) {
        for (Part p : parts) {
            if (name.equals(p.name())) {
                return p;
            }
        }
        return parts.stream().filter(p -> p.filename() != null).findFirst().orElse(null);
    }

    private static String boundary(String contentType) {
        for (String param : contentType.split(";")) {
            String p = param.strip();
            if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
                String b = unquote(p.substring("boundary=".length()));
                if (!b.isEmpty() && b.length() <= 70) {
                    return b;
                }
            }
        }
        throw malformed("the Content-Type has no valid boundary parameter");
    }

    private static Part part(String headers, byte[] body) {
        String name = null;
        String filename = null;
        String type = null;
        for (String line : headers.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).strip();
            if (key.equals("content-type")) {
                type = value;
            } else if (key.equals("content-disposition")) {
                for (String param : value.split(";")) {
                    String p = param.strip();
                    if (p.startsWith("name=")) {
                        name = unquote(p.substring(5));
                    } else if (p.startsWith("filename=")) {
                        filename = unquote(p.substring(9));
                    }
                }
            }
        }
        return new Part(name, filename, type, body);
    }

    private static String unquote(String s) {
        return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }

    private static HttpError malformed(String why) {
        return HttpError.badRequest("malformed multipart/form-data body: " + why);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static boolean startsWith(byte[] data, int from, byte[] prefix) {
        return from + prefix.length <= data.length
                && Arrays.equals(data, from, from + prefix.length, prefix, 0, prefix.length);
    }

    private static int indexOf(byte[] data, byte[] pattern, int from) {
        outer:
        for (int i = Math.max(0, from); i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
