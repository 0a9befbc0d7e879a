package io.tarflow4j.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.io.ImageGrid;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.sampling.BlockStrategy;
import io.tarflow4j.sampling.JacobiStrategy;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.Tensors;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API over loopback against servers started in-process on port 0: a conditional 8x8
 * gray fixture model (3 classes, denoising with sigma 0.1) and an unconditional 8x8 RGB one.
 */
class ServeApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long BODY_LIMIT = 256 * 1024;
    private static final long PIXEL_LIMIT = 100_000;

    private static TarflowServer cond;
    private static TarflowServer uncond;
    private static HttpClient client;

    static Path fixture(String file) throws Exception {
        return Path.of(ServeApiTest.class.getResource("/fixtures/" + file).toURI());
    }

    static ServerOptions options(int queue) {
        return ServerOptions.builder()
                .port(0)
                .maxBatch(16)
                .queue(queue)
                .maxBodyBytes(BODY_LIMIT)
                .maxImagePixels(PIXEL_LIMIT)
                .build();
    }

    @BeforeAll
    static void start() throws Exception {
        cond = TarflowServer.start(ServedModel.of(ModelFile.load(fixture("cond_nvp.safetensors")), 0.1), options(2));
        uncond = TarflowServer.start(
                ServedModel.of(ModelFile.load(fixture("uncond_nvp_tempguide.safetensors")), Double.NaN), options(2));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterAll
    static void stop() {
        if (cond != null) {
            cond.close();
        }
        if (uncond != null) {
            uncond.close();
        }
    }

    // --- helpers ---

    static HttpResponse<byte[]> get(TarflowServer s, String path) throws Exception {
        return client.send(
                HttpRequest.newBuilder(s.uri().resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<byte[]> post(TarflowServer s, String path, String contentType, byte[] body) throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(s.uri().resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<byte[]> sample(TarflowServer s, String json) throws Exception {
        return post(s, "/api/sample", "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    static JsonNode json(HttpResponse<byte[]> r) throws IOException {
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""), new String(r.body()));
        return JSON.readTree(r.body());
    }

    /** Asserts a JSON error answer with this status whose message contains every fragment. */
    static void assertError(HttpResponse<byte[]> r, int status, String... fragments) throws IOException {
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertEquals(status, r.statusCode(), body);
        JsonNode error = json(r).get("error");
        assertNotNull(error, body);
        for (String f : fragments) {
            assertTrue(error.asText().contains(f), "expected '" + f + "' in " + body);
        }
    }

    static BufferedImage png(byte[] bytes) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
        assertNotNull(img, "not a PNG");
        return img;
    }

    static BufferedImage png(JsonNode b64) throws IOException {
        return png(Base64.getDecoder().decode(b64.asText()));
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out));
        return out.toByteArray();
    }

    static BufferedImage pattern(int w, int h, int type) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((x * 37 + y * 11) % 256) << 16 | ((x * 5) % 256) << 8 | ((y * 29) % 256));
            }
        }
        return img;
    }

    // --- model description and health ---

    @Test
    void healthAndModelDescription() throws Exception {
        HttpResponse<byte[]> h = get(cond, "/healthz");
        assertEquals(200, h.statusCode());
        assertEquals("ok", json(h).get("status").asText());

        JsonNode m = json(get(cond, "/api/model"));
        assertEquals(1, m.get("config").get("in_channels").asInt());
        assertEquals(8, m.get("config").get("image_size").asInt());
        assertEquals(3, m.get("config").get("num_classes").asInt());
        assertTrue(m.get("conditional").asBoolean());
        assertEquals(List.of("class 0", "class 1", "class 2"), JSON.convertValue(m.get("class_names"), List.class));
        assertEquals(0.1, m.get("sigma").asDouble(), 1e-12);
        assertTrue(m.get("can_denoise").asBoolean());
        assertTrue(m.get("samplers").get("sequential").asBoolean());
        assertTrue(m.get("samplers").get("jacobi").asBoolean());
        assertEquals("default", m.get("jacobi_strategy").asText());
        assertEquals(16, m.get("limits").get("max_batch").asInt());

        JsonNode u = json(get(uncond, "/api/model"));
        assertFalse(u.get("conditional").asBoolean());
        assertEquals(3, u.get("config").get("in_channels").asInt());
        assertEquals(0, u.get("class_names").size());
        assertTrue(u.get("sigma").isNull());
        assertFalse(u.get("can_denoise").asBoolean());
    }

    @Test
    void thePageIsServedSelfContained() throws Exception {
        HttpResponse<byte[]> r = get(cond, "/");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        String html = new String(r.body(), StandardCharsets.UTF_8);
        assertTrue(html.contains("id=\"generate\""), "no Generate button");
        assertFalse(html.contains("http://") || html.contains("https://"), "the page must not load anything remote");
        assertTrue(r.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'none'"));
    }

    // --- sampling ---

    @Test
    void sampleAsJsonWithImagesTraceAndParameters() throws Exception {
        HttpResponse<byte[]> r = sample(cond, """
                {"class": 1, "guidance": 1.5, "guide": "shift", "attn_temp": 0.9, "noise_temp": 0.8,
                 "seed": 7, "batch": 5, "trace": true, "denoise": true}""");
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode j = json(r);
        assertEquals(7, j.get("seed").asLong());
        assertEquals(5, j.get("count").asInt());
        assertTrue(j.get("time_ms").asLong() >= 0);
        JsonNode p = j.get("parameters");
        assertEquals(1, p.get("class").asInt());
        assertEquals("class 1", p.get("class_name").asText());
        assertEquals(1.5, p.get("guidance").asDouble());
        assertEquals("shift", p.get("guide").asText());
        assertEquals(0.9, p.get("attn_temp").asDouble());
        assertEquals(0.8, p.get("noise_temp").asDouble());
        assertEquals("sequential", p.get("sampler").asText());
        assertTrue(p.get("denoise").asBoolean());
        assertEquals(5, j.get("images").size());
        for (JsonNode image : j.get("images")) {
            BufferedImage img = png(image);
            assertEquals(8, img.getWidth());
            assertEquals(8, img.getHeight());
        }
        BufferedImage grid = png(j.get("grid"));
        assertEquals(3 * (8 + 2) + 2, grid.getWidth()); // 5 images: 3 columns, 2 rows, padding 2
        assertEquals(2 * (8 + 2) + 2, grid.getHeight());
        List<String> stages = new ArrayList<>();
        j.get("trace").forEach(s -> stages.add(s.get("stage").asText()));
        assertEquals(List.of("noise", "after block 1 of 2", "after block 2 of 2", "denoised"), stages);
    }

    @Test
    void samplesAreTheModelsReverseOfTheSeededNoise() throws Exception {
        HttpResponse<byte[]> r = sample(cond, "{\"class\": 2, \"guidance\": 1.0, \"seed\": 123, \"batch\": 3}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode j = json(r);
        TarFlow model = ModelFile.load(fixture("cond_nvp.safetensors")).model();
        float[] expected;
        try (NativeScope scope = NativeScope.open()) {
            // the sampling package's noise: java.util.Random(seed).nextGaussian(), image after image
            java.util.Random random = new java.util.Random(123);
            float[] z = new float[3 * 16 * 4];
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) random.nextGaussian();
            }
            Tensor noise = Tensors.fromFloats(z, 3, 16, 4);
            Tensor y = Tensors.labels(new int[] {2, 2, 2}).to(ScalarType.Long);
            expected = Tensors.toFloats(model.reverse(noise, y, Guidance.of(1.0, 1.0)));
        }
        for (int i = 0; i < 3; i++) {
            BufferedImage img = png(j.get("images").get(i));
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    int want = ImageGrid.toPixel(expected[i * 64 + y * 8 + x]);
                    int got = img.getRaster().getSample(x, y, 0);
                    assertTrue(
                            Math.abs(want - got) <= 1,
                            "image " + i + " pixel " + x + "," + y + ": " + got + " vs " + want);
                }
            }
        }
    }

    @Test
    void theSameSeedGivesTheSamePngBytes() throws Exception {
        String body = "{\"seed\": 42, \"batch\": 4, \"guidance\": 2, \"attn_temp\": 0.7}";
        HttpResponse<byte[]> a = post(uncond, "/api/sample?format=png", "application/json", body.getBytes());
        HttpResponse<byte[]> b = client.send(
                HttpRequest.newBuilder(uncond.uri().resolve("/api/sample"))
                        .header("Content-Type", "application/json")
                        .header("Accept", "image/png")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, a.statusCode());
        assertEquals(200, b.statusCode());
        assertEquals("image/png", a.headers().firstValue("Content-Type").orElse(""));
        assertEquals("42", a.headers().firstValue("X-Seed").orElse(""));
        assertArrayEquals(a.body(), b.body());
        BufferedImage grid = png(a.body());
        assertEquals(2 * (8 + 2) + 2, grid.getWidth());
        HttpResponse<byte[]> other = post(
                uncond,
                "/api/sample?format=png",
                "application/json",
                "{\"seed\": 43, \"batch\": 4, \"guidance\": 2, \"attn_temp\": 0.7}".getBytes());
        assertFalse(Arrays.equals(a.body(), other.body()), "another seed must give other images");
    }

    @Test
    void withoutASeedTheServerPicksOneAndReportsIt() throws Exception {
        JsonNode first = json(sample(uncond, "{}"));
        long seed = first.get("seed").asLong();
        assertTrue(seed >= 0 && seed <= SampleRequest.MAX_SEED);
        assertEquals(16, first.get("count").asInt());
        JsonNode again = json(sample(uncond, "{\"seed\": " + seed + "}"));
        assertEquals(first.get("grid").asText(), again.get("grid").asText());
    }

    @Test
    void classNamesAreAcceptedAsWellAsIndices() throws Exception {
        JsonNode byName = json(sample(cond, "{\"class\": \"class 2\", \"seed\": 5, \"batch\": 2}"));
        JsonNode byIndex = json(sample(cond, "{\"class\": 2, \"seed\": 5, \"batch\": 2}"));
        assertEquals(byIndex.get("grid").asText(), byName.get("grid").asText());
    }

    @Test
    void badSampleRequestsGetClearErrors() throws Exception {
        assertError(sample(cond, "{\"class\": 3}"), 400, "class", "0..2");
        assertError(sample(cond, "{\"class\": -1}"), 400, "class");
        assertError(sample(cond, "{\"class\": \"shoe\"}"), 400, "no class named");
        assertError(sample(uncond, "{\"class\": 0}"), 400, "unconditional");
        assertError(sample(cond, "{\"guidance\": 25}"), 400, "guidance", "[0, 20]");
        assertError(sample(cond, "{\"guidance\": \"strong\"}"), 400, "guidance", "number");
        assertError(sample(cond, "{\"attn_temp\": 0}"), 400, "attn_temp");
        assertError(sample(cond, "{\"noise_temp\": -1}"), 400, "noise_temp");
        assertError(sample(cond, "{\"noise_temp\": 1e400}"), 400, "noise_temp");
        assertError(sample(cond, "{\"batch\": 0}"), 400, "batch", "1..16");
        assertError(sample(cond, "{\"batch\": 17}"), 400, "batch", "1..16");
        assertError(sample(cond, "{\"batch\": 2.5}"), 400, "batch");
        assertError(sample(cond, "{\"seed\": -3}"), 400, "seed");
        assertError(sample(cond, "{\"guide\": \"up\"}"), 400, "guide");
        assertError(sample(cond, "{\"denoise\": \"yes\"}"), 400, "denoise", "true or false");
        assertError(sample(cond, "{\"sampler\": \"fast\"}"), 400, "sampler", "\"jacobi\"");
        assertError(sample(cond, "{\"guidance\": 2}"), 400, "guidance", "would do nothing", "attn_temp", "class");
        assertError(sample(uncond, "{\"guidance\": 2}"), 400, "guidance", "unconditional", "attn_temp");
        assertError(sample(uncond, "{\"denoise\": true}"), 400, "sigma");
        assertError(sample(cond, "{\"batch\": 2, \"colour\": \"red\"}"), 400, "unknown field colour");
        assertError(sample(cond, "{\"batch\": 2,"), 400, "malformed JSON");
        assertError(sample(cond, "{\"batch\": 2} {}"), 400, "malformed JSON");
        assertError(sample(cond, "{\"batch\": 2, \"batch\": 3}"), 400, "malformed JSON", "batch");
        assertError(sample(cond, "[1, 2]"), 400, "JSON object");
        assertError(sample(cond, "NaN"), 400, "malformed JSON");
        assertError(post(cond, "/api/sample", "text/plain", "{}".getBytes()), 415, "application/json");
        assertError(get(cond, "/api/sample"), 405, "POST");
        assertError(get(cond, "/api/nothing"), 404, "no such page");
        // still serving
        assertEquals(200, sample(cond, "{\"batch\": 1}").statusCode());
    }

    /** The largest difference between two PNG-encoded images, in 8-bit levels. */
    static int maxLevelDiff(JsonNode a, JsonNode b) throws IOException {
        BufferedImage x = png(a);
        BufferedImage y = png(b);
        assertEquals(x.getWidth(), y.getWidth());
        assertEquals(x.getHeight(), y.getHeight());
        int bands = x.getRaster().getNumBands();
        int worst = 0;
        for (int yy = 0; yy < x.getHeight(); yy++) {
            for (int xx = 0; xx < x.getWidth(); xx++) {
                for (int c = 0; c < bands; c++) {
                    worst = Math.max(
                            worst,
                            Math.abs(x.getRaster().getSample(xx, yy, c)
                                    - y.getRaster().getSample(xx, yy, c)));
                }
            }
        }
        return worst;
    }

    @Test
    void jacobiGivesTheSequentialImagesForTheSameSeedWithTheTrace() throws Exception {
        String common =
                "\"class\": 1, \"guidance\": 1.5, \"seed\": 11, \"batch\": 6, \"trace\": true," + " \"denoise\": true";
        JsonNode seq = json(sample(cond, "{" + common + ", \"sampler\": \"sequential\"}"));
        HttpResponse<byte[]> r = sample(cond, "{" + common + ", \"sampler\": \"jacobi\"}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode jac = json(r);
        assertEquals("jacobi", jac.get("parameters").get("sampler").asText());
        assertEquals(6, jac.get("images").size());
        for (int i = 0; i < 6; i++) {
            assertTrue(maxLevelDiff(seq.get("images").get(i), jac.get("images").get(i)) <= 1, "image " + i);
        }
        List<String> stages = new ArrayList<>();
        jac.get("trace").forEach(s -> stages.add(s.get("stage").asText()));
        assertEquals(List.of("noise", "after block 1 of 2", "after block 2 of 2", "denoised"), stages);
        for (int s = 0; s < stages.size(); s++) {
            assertTrue(
                    maxLevelDiff(
                                    seq.get("trace").get(s).get("grid"),
                                    jac.get("trace").get(s).get("grid"))
                            <= 1,
                    stages.get(s));
        }
        // the floats behind the PNGs: the default strategy's tolerance is 1e-3 per pass; on the
        // fixture the images agree to 1e-4
        ServedModel served = ServedModel.of(ModelFile.load(fixture("cond_nvp.safetensors")), 0.1);
        SampleGenerator generator = new SampleGenerator(served);
        SampleRequest base =
                new SampleRequest(1, Guidance.of(1.5, 1.0), 1.0, 11, SamplerType.SEQUENTIAL, true, 6, false);
        float[] a = generator.sample(base).images();
        float[] b = generator
                .sample(new SampleRequest(1, Guidance.of(1.5, 1.0), 1.0, 11, SamplerType.JACOBI, true, 6, false))
                .images();
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        System.out.println("jacobi (default strategy) vs sequential, max pixel difference: " + worst);
        assertTrue(worst <= 1e-4, "max pixel difference " + worst);
    }

    @Test
    void aStrategyFileIsUsedForJacobiAndCheckedAgainstTheModel(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path exact = dir.resolve("exact.json");
        JacobiStrategy.uniform(2, BlockStrategy.exact(16)).write(exact);
        ServedModel served = ServedModel.of(ModelFile.load(fixture("uncond_nvp_tempguide.safetensors")), Double.NaN)
                .withStrategy(exact);
        assertEquals("exact.json", served.strategyName());
        try (TarflowServer s = TarflowServer.start(served, options(2))) {
            assertEquals(
                    "exact.json",
                    json(get(s, "/api/model")).get("jacobi_strategy").asText());
            String body = "\"seed\": 5, \"batch\": 4, \"guidance\": 1, \"attn_temp\": 0.5";
            HttpResponse<byte[]> seq = post(
                    s,
                    "/api/sample?format=png",
                    "application/json",
                    ("{" + body + "}").getBytes(StandardCharsets.UTF_8));
            HttpResponse<byte[]> jac = post(
                    s,
                    "/api/sample?format=png",
                    "application/json",
                    ("{" + body + ", \"sampler\": \"jacobi\"}").getBytes(StandardCharsets.UTF_8));
            assertEquals(200, jac.statusCode(), new String(jac.body()));
            assertArrayEquals(seq.body(), jac.body(), "the exact strategy gives the sequential PNG bytes");
        }
        Path three = dir.resolve("three-blocks.json");
        JacobiStrategy.uniform(3, BlockStrategy.exact(16)).write(three);
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(
                IOException.class,
                () -> ServedModel.of(ModelFile.load(fixture("cond_nvp.safetensors")), 0.1)
                        .withStrategy(three));
        assertTrue(
                e.getMessage().contains(three.toString())
                        && e.getMessage().contains("3 blocks")
                        && e.getMessage().contains("the model has 2"),
                e.getMessage());
    }

    @Test
    void aSeedGivesTheSameFirstImagesWhateverTheBatch() throws Exception {
        JsonNode two = json(sample(cond, "{\"class\": 0, \"seed\": 9, \"batch\": 2}"));
        JsonNode five = json(sample(cond, "{\"class\": 0, \"seed\": 9, \"batch\": 5}"));
        for (int i = 0; i < 2; i++) {
            assertTrue(maxLevelDiff(two.get("images").get(i), five.get("images").get(i)) <= 1, "image " + i);
        }
    }

    // --- scoring ---

    @Test
    void scoreAGrayImageOfTheModelsSize() throws Exception {
        byte[] png = encode(pattern(8, 8, BufferedImage.TYPE_BYTE_GRAY), "png");
        HttpResponse<byte[]> r = post(cond, "/api/score", "image/png", png);
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode j = json(r);
        double bpd = j.get("bits_per_dim").asDouble();
        assertTrue(Double.isFinite(bpd) && bpd > 0, j.toString());
        assertEquals(0, j.get("notes").size(), j.toString());
        JsonNode classes = j.get("classes");
        assertEquals(3, classes.size());
        double sum = 0;
        double maxLogLik = Double.NEGATIVE_INFINITY;
        for (JsonNode c : classes) {
            sum += c.get("posterior").asDouble();
            maxLogLik = Math.max(maxLogLik, c.get("log_likelihood").asDouble());
            assertEquals(
                    -c.get("log_likelihood").asDouble() / (64 * Math.log(2)),
                    c.get("bits_per_dim").asDouble(),
                    1e-9);
        }
        assertEquals(1.0, sum, 1e-9);
        double norm = 0;
        for (JsonNode c : classes) {
            norm += Math.exp(c.get("log_likelihood").asDouble() - maxLogLik);
        }
        for (JsonNode c : classes) {
            double want = Math.exp(c.get("log_likelihood").asDouble() - maxLogLik) / norm;
            assertEquals(want, c.get("posterior").asDouble(), 1e-9, "posterior is softmax of log p(x|y)");
        }
        double marginal = maxLogLik + Math.log(norm / 3);
        assertEquals(
                -marginal / (64 * Math.log(2)), j.get("bits_per_dim_marginal").asDouble(), 1e-9);
        assertTrue(Double.isFinite(j.get("anomaly").asDouble()), j.toString());
        int best = j.get("predicted_class").asInt();
        for (JsonNode c : classes) {
            assertTrue(classes.get(best).get("posterior").asDouble()
                    >= c.get("posterior").asDouble());
        }
        // deterministic, and the same through multipart/form-data
        JsonNode again = json(post(cond, "/api/score", "image/png", png));
        assertEquals(bpd, again.get("bits_per_dim").asDouble());
        String boundary = "----tarflowTestBoundary7";
        ByteArrayOutputStream form = new ByteArrayOutputStream();
        form.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                        + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n"
                        + "Content-Type: image/png\r\n\r\n")
                .getBytes(StandardCharsets.UTF_8));
        form.write(png);
        form.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        JsonNode viaForm =
                json(post(cond, "/api/score", "multipart/form-data; boundary=" + boundary, form.toByteArray()));
        assertEquals(bpd, viaForm.get("bits_per_dim").asDouble());
    }

    @Test
    void scoreUnconditionalMatchesBitsPerDimOfTheDequantisedImage() throws Exception {
        BufferedImage rgb = pattern(8, 8, BufferedImage.TYPE_INT_RGB);
        JsonNode j = json(post(uncond, "/api/score", "image/png", encode(rgb, "png")));
        assertTrue(j.get("classes") == null || j.get("classes").isNull(), j.toString());
        assertFalse(j.get("conditional").asBoolean());
        TarFlow model =
                ModelFile.load(fixture("uncond_nvp_tempguide.safetensors")).model();
        UploadedImage image = UploadedImage.decode(encode(rgb, "png"), 3, 8, PIXEL_LIMIT);
        ScoreResult direct = new UploadScorer(
                        new ServedModel(model, "m", java.util.Map.of(), false, List.of(), false, Double.NaN))
                .score(image);
        assertEquals(direct.bitsPerDim(), j.get("bits_per_dim").asDouble(), 1e-12);
        // an independent check of the number: the dequantised image's bits/dim from the model
        float[] x = new float[192];
        byte[] chw = image.pixels();
        float[] u = io.tarflow4j.evaluation.Dequantizer.uniform(UploadScorer.DEQUANTIZATION_SEED)
                .forImage(chw);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (((chw[i] & 0xFF) + u[i]) / 128.0 - 1);
        }
        double want;
        try (NativeScope scope = NativeScope.open();
                var g = io.tarflow4j.tensor.GradMode.off()) {
            want = Tensors.toFloats(
                    io.tarflow4j.evaluation.BitsPerDim.perImage(model, Tensors.fromFloats(x, 1, 3, 8, 8), null))[0];
        }
        assertEquals(want, j.get("bits_per_dim").asDouble(), 1e-4);
    }

    @Test
    void uploadsAreConvertedAndResizedWithNotes() throws Exception {
        byte[] jpeg = encode(pattern(28, 20, BufferedImage.TYPE_INT_RGB), "jpeg");
        HttpResponse<byte[]> r = post(cond, "/api/score", "image/jpeg", jpeg);
        assertEquals(200, r.statusCode(), new String(r.body()));
        String notes = json(r).get("notes").toString();
        assertTrue(notes.contains("converted RGB to grayscale"), notes);
        assertTrue(notes.contains("resized 28x20 to 8x8"), notes);

        HttpResponse<byte[]> gray =
                post(uncond, "/api/score", "image/png", encode(pattern(8, 8, BufferedImage.TYPE_BYTE_GRAY), "png"));
        assertEquals(200, gray.statusCode(), new String(gray.body()));
        assertTrue(json(gray).get("notes").toString().contains("converted grayscale to RGB"));
    }

    @Test
    void badUploadsGetClearErrors() throws Exception {
        assertError(post(cond, "/api/score", "image/png", "this is not an image".getBytes()), 415, "not a PNG or JPEG");
        byte[] png = encode(pattern(8, 8, BufferedImage.TYPE_BYTE_GRAY), "png");
        assertError(post(cond, "/api/score", "image/png", Arrays.copyOf(png, png.length / 2)), 400, "cannot decode");
        assertError(post(cond, "/api/score", "image/png", new byte[0]), 400, "empty");
        assertError(post(cond, "/api/score", "application/json", png), 415, "image/png");
        assertError(post(cond, "/api/score", null, png), 415, "Content-Type");
        assertError(
                post(
                        cond,
                        "/api/score",
                        "image/png",
                        encode(new BufferedImage(400, 300, BufferedImage.TYPE_BYTE_GRAY), "png")),
                413,
                "400x300",
                "limit");
        assertError(post(cond, "/api/score", "multipart/form-data", png), 400, "boundary");
        assertError(
                post(cond, "/api/score", "multipart/form-data; boundary=zz", "--zz\r\nno end".getBytes()),
                400,
                "multipart");
        assertError(
                post(
                        cond,
                        "/api/score",
                        "multipart/form-data; boundary=zz",
                        "--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--zz--\r\n".getBytes()),
                400,
                "no file");
        assertError(get(cond, "/api/score"), 405, "POST");
        assertEquals(200, post(cond, "/api/score", "image/png", png).statusCode());
    }

    @Test
    void oversizedBodiesAreRefusedAndTheServerKeepsServing() throws Exception {
        byte[] big = new byte[(int) BODY_LIMIT + 1];
        HttpResponse<byte[]> r = post(cond, "/api/score", "image/png", big);
        assertError(r, 413, "limit");
        HttpResponse<byte[]> s = sample(cond, "{\"batch\": 1, \"pad\": \"" + "x".repeat((int) BODY_LIMIT) + "\"}");
        assertError(s, 413, "limit");
        assertEquals(200, get(cond, "/healthz").statusCode());
    }

    @Test
    void otherHostsAndOriginsAreRefusedOnLoopback() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", cond.port())) {
            OutputStream out = socket.getOutputStream();
            out.write("GET /api/model HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
            assertTrue(answer.contains("answers requests for"), answer);
        }
        HttpResponse<byte[]> r = client.send(
                HttpRequest.newBuilder(cond.uri().resolve("/api/sample"))
                        .header("Content-Type", "application/json")
                        .header("Origin", "https://evil.example")
                        .POST(HttpRequest.BodyPublishers.ofString("{}"))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertError(r, 403, "cross-origin");
        HttpResponse<byte[]> same = client.send(
                HttpRequest.newBuilder(cond.uri().resolve("/api/sample"))
                        .header("Content-Type", "application/json")
                        .header("Origin", "http://127.0.0.1:" + cond.port())
                        .POST(HttpRequest.BodyPublishers.ofString("{\"batch\": 1}"))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, same.statusCode(), new String(same.body()));
    }

    // --- load ---

    @Test
    void aFullQueueAnswers503WithRetryAfter() throws Exception {
        try (TarflowServer small =
                TarflowServer.start(ServedModel.of(ModelFile.load(fixture("cond_nvp.safetensors")), 0.1), options(0))) {
            CountDownLatch running = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            ExecutorService blocker = Executors.newSingleThreadExecutor();
            try {
                Future<Object> job = blocker.submit(() -> small.worker().run(() -> {
                    running.countDown();
                    release.await();
                    return null;
                }));
                assertTrue(running.await(10, TimeUnit.SECONDS));
                HttpResponse<byte[]> busy = sample(small, "{\"batch\": 1}");
                assertError(busy, 503, "busy");
                assertEquals("1", busy.headers().firstValue("Retry-After").orElse(""));
                release.countDown();
                job.get(10, TimeUnit.SECONDS);
            } finally {
                release.countDown();
                blocker.shutdownNow();
            }
            assertEquals(200, sample(small, "{\"batch\": 1}").statusCode());
        }
    }

    @Test
    void sixteenConcurrentClientsAreAllAnsweredAndTheServerStaysHealthy() throws Exception {
        int clients = 16;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<HttpResponse<byte[]>>> answers = new ArrayList<>();
            byte[] png = encode(pattern(8, 8, BufferedImage.TYPE_BYTE_GRAY), "png");
            for (int i = 0; i < clients; i++) {
                int n = i;
                answers.add(pool.submit(() -> {
                    go.await();
                    return n % 4 == 3
                            ? post(cond, "/api/score", "image/png", png)
                            : sample(cond, "{\"batch\": 16, \"trace\": true, \"denoise\": true, \"seed\": " + n + "}");
                }));
            }
            go.countDown();
            int ok = 0;
            int busy = 0;
            for (Future<HttpResponse<byte[]>> f : answers) {
                HttpResponse<byte[]> r = f.get(120, TimeUnit.SECONDS);
                if (r.statusCode() == 200) {
                    ok++;
                    JsonNode j = json(r);
                    assertTrue(j.has("grid") || j.has("bits_per_dim"), j.toString());
                } else {
                    assertError(r, 503, "busy");
                    assertTrue(r.headers().firstValue("Retry-After").isPresent());
                    busy++;
                }
            }
            assertEquals(clients, ok + busy);
            assertTrue(ok >= 1, "at least the first job is served");
            System.out.println("16 concurrent clients: " + ok + " answered 200, " + busy + " answered 503");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(200, get(cond, "/healthz").statusCode());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (json(get(cond, "/healthz")).get("pending_jobs").asInt() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(20); // the worker counts a job active until just after its answer is handed over
        }
        assertEquals(0, json(get(cond, "/healthz")).get("pending_jobs").asInt());
        HttpResponse<byte[]> after = sample(cond, "{\"batch\": 2, \"seed\": 1}");
        assertEquals(200, after.statusCode());
    }
}
