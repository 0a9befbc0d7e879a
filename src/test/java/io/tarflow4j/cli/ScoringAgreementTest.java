package io.tarflow4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.io.Png;
import io.tarflow4j.serve.ServedModel;
import io.tarflow4j.serve.ServerOptions;
import io.tarflow4j.serve.TarflowServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One image, one seed, the same numbers from {@code tarflow score}, {@code POST /api/score} and
 * {@code tarflow eval bpd}, whatever list or batch the image is scored in.
 */
class ScoringAgreementTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void scoreServeAndEvalBpdAgreeOnAnImage() throws Exception {
        Path model =
                Path.of(getClass().getResource("/fixtures/cond_nvp.safetensors").toURI());
        Path single = dir.resolve("single");
        Files.createDirectories(single);
        Path image = single.resolve("x.png");
        Png.writeImage(image, randomImage(new Random(11)), 1, 8, 8);
        Path others = dir.resolve("others");
        Files.createDirectories(others);
        Random r = new Random(12);
        for (int i = 0; i < 4; i++) {
            Png.writeImage(others.resolve("o" + i + ".png"), randomImage(r), 1, 8, 8);
        }

        JsonNode scored =
                scoreJson(model, "--batch", "1", image.toString()).get("images").get(0);
        double unconditional = scored.get("bits_per_dim").asDouble();
        double marginal = scored.get("bits_per_dim_marginal").asDouble();
        double anomaly = scored.get("anomaly").get("complexity").asDouble();
        assertEquals(unconditional, scored.get("bits_per_dim_unconditional").asDouble());

        JsonNode served;
        try (TarflowServer server = TarflowServer.start(
                ServedModel.of(ModelFile.load(model), 0.1),
                ServerOptions.builder().port(0).build())) {
            HttpResponse<byte[]> response = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(server.uri().resolve(URI.create("/api/score")))
                                    .header("Content-Type", "image/png")
                                    .POST(HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(image)))
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, response.statusCode(), new String(response.body()));
            served = JSON.readTree(response.body());
        }
        assertEquals(unconditional, served.get("bits_per_dim").asDouble(), 1e-6, "serve vs score");
        assertEquals(marginal, served.get("bits_per_dim_marginal").asDouble(), 1e-6, "serve vs score, marginal");
        assertEquals("complexity", served.get("anomaly_method").asText());
        assertEquals(anomaly, served.get("anomaly").asDouble(), 1e-6, "serve vs score, anomaly");
        for (int k = 0; k < 3; k++) {
            assertEquals(
                    scored.get("bits_per_dim_given_class").get(k).asDouble(),
                    served.get("classes").get(k).get("bits_per_dim").asDouble(),
                    1e-6,
                    "class " + k);
            assertEquals(
                    scored.get("posterior").get(k).asDouble(),
                    served.get("classes").get(k).get("posterior").asDouble(),
                    1e-6,
                    "posterior " + k);
        }

        assertEquals(unconditional, evalBpd(model, single, "unconditional"), 1e-6, "eval bpd vs score");
        assertEquals(marginal, evalBpd(model, single, "marginal"), 1e-6, "eval bpd vs score, marginal");

        // the image among others, in another position and batch: the same noise, the same figures
        JsonNode listed =
                scoreJson(model, "--batch", "3", others.toString(), image.toString(), "--method", "raw,complexity");
        JsonNode last = listed.get("images").get(4);
        assertTrue(last.get("file").asText().endsWith("x.png"), last.toString());
        assertEquals(unconditional, last.get("bits_per_dim").asDouble(), 1e-5);
        assertEquals(marginal, last.get("bits_per_dim_marginal").asDouble(), 1e-5);
        assertEquals(unconditional, last.get("anomaly").get("raw").asDouble(), 1e-5);
        assertEquals(anomaly, last.get("anomaly").get("complexity").asDouble(), 1e-5);
    }

    private static JsonNode scoreJson(Path model, String... args) throws Exception {
        String[] all = new String[args.length + 4];
        all[0] = "score";
        all[1] = "--model";
        all[2] = model.toString();
        all[3] = "--format=json";
        System.arraycopy(args, 0, all, 4, args.length);
        CliRun r = CliRun.of(all);
        assertEquals(0, r.status(), r.err());
        return JSON.readTree(r.out());
    }

    private double evalBpd(Path model, Path data, String likelihood) throws Exception {
        Path out = dir.resolve("bpd-" + likelihood + ".json");
        CliRun r = CliRun.of(
                "eval",
                "bpd",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--likelihood",
                likelihood,
                "--out",
                out.toString());
        assertEquals(0, r.status(), r.err());
        JsonNode json = JSON.readTree(out.toFile());
        assertEquals(1, json.get("images").asInt());
        assertEquals(likelihood, json.get("likelihood").asText());
        return json.get("bits_per_dim").asDouble();
    }

    private static float[] randomImage(Random r) {
        float[] px = new float[64];
        for (int k = 0; k < px.length; k++) {
            px[k] = (float) (r.nextDouble() * 2 - 1);
        }
        return px;
    }
}
