package io.tarflow4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import io.tarflow4j.io.Excerpt;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One request and its answer as the endpoints see them: the method, headers, query and body read
 * within the size limit and the read timeout ({@link ConnectionGuard}), and answers sent as bytes
 * or JSON with {@code nosniff}, under the guard's write deadline.
 */
final class ApiExchange {
    private final HttpExchange ex;
    private final ConnectionGuard guard;
    private final ApiJson json;
    private final long maxBodyBytes;

    ApiExchange(HttpExchange ex, ConnectionGuard guard, ApiJson json, long maxBodyBytes) {
        this.ex = ex;
        this.guard = guard;
        this.json = json;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** The request path. */
    String path() {
        return ex.getRequestURI().getPath();
    }

    /** Refuses (405, with {@code Allow}) a request whose method is not {@code method}. */
    void requireMethod(String method) {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method);
            throw new HttpError(405, path() + " takes " + method + ", not " + ex.getRequestMethod());
        }
    }

    /** A request header's first value, or null. */
    String header(String name) {
        return ex.getRequestHeaders().getFirst(name);
    }

    /** The Content-Type without parameters, in lower case, or null. */
    String mediaType() {
        String type = header("Content-Type");
        if (type == null) {
            return null;
        }
        int semi = type.indexOf(';');
        return (semi < 0 ? type : type.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    /** A query parameter's decoded value ("" when given without one), or null. */
    String query(String name) {
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (key.equals(name)) {
                return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /**
     * The body, refused (413, closing the connection) when its declared or actual size exceeds the
     * limit; read under the guard's deadline, which ends with the read.
     */
    byte[] body() throws IOException {
        String length = header("Content-Length");
        if (length != null) {
            long declared;
            try {
                declared = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw HttpError.badRequest("Content-Length is not a number: " + Excerpt.of(length));
            }
            if (declared > maxBodyBytes) {
                ex.getResponseHeaders().set("Connection", "close");
                throw new HttpError(
                        413, "the request body has " + declared + " bytes, more than the limit of " + maxBodyBytes);
            }
        }
        try (InputStream in = guard.watch(ex.getRequestBody())) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
            if (body.length > maxBodyBytes) {
                ex.getResponseHeaders().set("Connection", "close");
                throw new HttpError(413, "the request body is larger than the limit of " + maxBodyBytes + " bytes");
            }
            return body;
        } finally {
            guard.disarm(); // the model work that follows has no deadline
        }
    }

    /** Sets a response header. */
    void responseHeader(String name, String value) {
        ex.getResponseHeaders().set(name, value);
    }

    /** Answers {@code body} as JSON; returns the status. */
    int sendJson(int status, JsonNode body) throws IOException {
        return send(status, "application/json", json.bytes(body));
    }

    /** Answers {@code body} as {@code contentType}; returns the status. */
    int send(int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        guard.answering();
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = guard.watch(ex.getResponseBody())) {
            out.write(body);
        }
        return status;
    }
}
