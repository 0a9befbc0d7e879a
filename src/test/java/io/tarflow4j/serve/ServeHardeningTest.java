package io.tarflow4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server against stalled, greedy and cross-site clients: every wait here is bounded by a
 * socket timeout of a few seconds.
 */
@Timeout(60)
class ServeHardeningTest {
    private static final Duration READ_TIMEOUT = Duration.ofMillis(1500);
    private static ServedModel model;
    private static TarflowServer server;

    @BeforeAll
    static void start() throws Exception {
        model = ServedModel.of(ModelFile.load(ServeApiTest.fixture("cond_nvp.safetensors")), 0.1);
        server = TarflowServer.start(
                model,
                ServerOptions.builder()
                        .port(0)
                        .readTimeout(READ_TIMEOUT)
                        .allowHosts(List.of("tarflow.internal"))
                        .allowOrigins(List.of("https://app.example"))
                        .build());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** A raw request on a fresh connection; the whole answer, read within {@code seconds}. */
    private static String raw(TarflowServer s, String request, int seconds) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", s.port())) {
            socket.setSoTimeout(seconds * 1000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String get(TarflowServer s, String path, String host, String origin) throws IOException {
        return raw(
                s,
                "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
                        + (origin == null ? "" : "Origin: " + origin + "\r\n") + "Connection: close\r\n\r\n",
                5);
    }

    private static String local() {
        return "127.0.0.1:" + server.port();
    }

    /** Connections that send part of a request head and wait. */
    private static List<Socket> stall(TarflowServer s, int n, String part) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket socket = new Socket("127.0.0.1", s.port());
            socket.setSoTimeout(5000);
            socket.getOutputStream().write(part.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            sockets.add(socket);
        }
        return sockets;
    }

    @Test
    void moreStalledConnectionsThanTheOldRequestThreadsStarveNobodyAndAreCutOff() throws Exception {
        List<Socket> stalled = stall(server, 24, "GET /healthz HTTP/1.1\r\nHost: " + local() + "\r\n");
        try {
            Thread.sleep(200);
            long start = System.nanoTime();
            String health = get(server, "/healthz", local(), null);
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(health.startsWith("HTTP/1.1 200"), health);
            assertTrue(seconds < 1, "healthz took " + seconds + " s beside the stalled connections");
            // each stalled connection is closed by the server after the read timeout
            for (Socket s : stalled) {
                InputStream in = s.getInputStream();
                try {
                    assertEquals(-1, in.read(), "the server closes a stalled connection");
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("a stalled connection was still open after 5 s", e);
                } catch (IOException reset) {
                    // closed with a reset: closed all the same
                }
            }
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void oneClientGetsABoundedNumberOfRequestsInProgress() throws Exception {
        try (TarflowServer small = TarflowServer.start(
                model,
                ServerOptions.builder()
                        .port(0)
                        .maxClientConnections(2)
                        .readTimeout(READ_TIMEOUT)
                        .build())) {
            String local = "127.0.0.1:" + small.port();
            // two requests whose bodies never arrive hold this client's two slots
            List<Socket> slow = stall(
                    small,
                    2,
                    "POST /api/sample HTTP/1.1\r\nHost: " + local
                            + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
            try {
                Thread.sleep(300);
                String third =
                        raw(small, "GET /healthz HTTP/1.1\r\nHost: " + local + "\r\nConnection: close\r\n\r\n", 5);
                assertTrue(third.startsWith("HTTP/1.1 429"), third);
                assertTrue(third.contains("--max-client-connections"), third);
                // after the read timeout the slow requests are dropped and their slots freed
                Thread.sleep(READ_TIMEOUT.toMillis() + 700);
                String later =
                        raw(small, "GET /healthz HTTP/1.1\r\nHost: " + local + "\r\nConnection: close\r\n\r\n", 5);
                assertTrue(later.startsWith("HTTP/1.1 200"), later);
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
        }
    }

    @Test
    void hostMustNameThisServerExactly() throws Exception {
        int port = server.port();
        for (String refused : List.of(
                "127.0.0.1.attacker.example:" + port,
                "127.0.0.2:" + port,
                "localhost.attacker.example",
                "attacker.example:" + port,
                "127.0.0.1:" + port + ":1")) {
            String answer = get(server, "/api/model", refused, null);
            assertTrue(answer.startsWith("HTTP/1.1 403"), refused + ": " + answer);
        }
        for (String allowed : List.of(
                "127.0.0.1:" + port,
                "localhost:" + port,
                "LOCALHOST:" + port,
                "[::1]:" + port,
                "localhost",
                "tarflow.internal:" + port)) {
            String answer = get(server, "/api/model", allowed, null);
            assertTrue(answer.startsWith("HTTP/1.1 200"), allowed + ": " + answer);
        }
    }

    @Test
    void originMustMatchAnAllowedOriginExactlyAndNullIsRefused() throws Exception {
        int port = server.port();
        for (String refused : List.of(
                "null",
                "http://127.0.0.1.attacker.example:" + port,
                "http://attacker.example",
                "http://127.0.0.1:" + (port == 65535 ? 1 : port + 1),
                "https://127.0.0.1:" + port,
                "http://127.0.0.1:" + port + "/page")) {
            String answer = get(server, "/api/model", local(), refused);
            assertTrue(answer.startsWith("HTTP/1.1 403") && answer.contains("cross-origin"), refused + ": " + answer);
        }
        for (String allowed : List.of("http://127.0.0.1:" + port, "http://localhost:" + port, "https://app.example")) {
            String answer = get(server, "/api/model", local(), allowed);
            assertTrue(answer.startsWith("HTTP/1.1 200"), allowed + ": " + answer);
        }
    }

    @Test
    void aNineMegabyteFieldIsNotEchoed() throws Exception {
        try (TarflowServer big = TarflowServer.start(
                model, ServerOptions.builder().port(0).maxBodyBytes(16L << 20).build())) {
            String body = "{\"sampler\": \"" + "x".repeat(9 << 20) + "\"}";
            String answer = raw(
                    big,
                    "POST /api/sample HTTP/1.1\r\nHost: 127.0.0.1:" + big.port()
                            + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                            + "\r\nConnection: close\r\n\r\n" + body,
                    20);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer.substring(0, Math.min(200, answer.length())));
            assertTrue(answer.contains("sampler"), answer);
            assertTrue(answer.length() < 2000, "answer of " + answer.length() + " characters");
        }
    }

    @Test
    void aClientThatDisconnectsIsLoggedInOneLine() throws Exception {
        PrintStream saved = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                socket.getOutputStream()
                        .write(("POST /api/sample HTTP/1.1\r\nHost: " + local()
                                        + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ba")
                                .getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                Thread.sleep(200);
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!log.toString(StandardCharsets.UTF_8).contains("client disconnected")
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } finally {
            System.setErr(saved);
        }
        String text = log.toString(StandardCharsets.UTF_8);
        List<String> lines =
                text.lines().filter(l -> l.contains("client disconnected")).toList();
        assertEquals(1, lines.size(), text);
        assertTrue(lines.get(0).contains("/api/sample"), text);
        assertFalse(text.contains("\tat "), "no stack trace: " + text);
    }
}
