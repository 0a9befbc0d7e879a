package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.serve.ServedModel;
import io.tarflow4j.serve.ServerOptions;
import io.tarflow4j.serve.TarflowServer;
import io.tarflow4j.tensor.Runtime;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tarflow serve --model CKPT [--port 8080] [--host 127.0.0.1] ...}. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serves a trained model on a local web page and a JSON API (docs/serve.md):",
            "sample with guidance and see the sampling trace, upload an image to score it (bits/dim and,",
            "for conditional models, the class posterior). Binds to 127.0.0.1 unless --host says otherwise.",
            "Model work runs one job at a time with a bounded queue; Ctrl-C stops the server gracefully."
        })
final class ServeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelOption model;

    @Option(
            names = "--port",
            defaultValue = "8080",
            description = "TCP port, 0 for any free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "address to bind (default: ${DEFAULT-VALUE}); 0.0.0.0 exposes the server to the network")
    String host;

    @Option(
            names = "--max-batch",
            defaultValue = "64",
            description = "most images per sample request (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(
            names = "--queue",
            defaultValue = "4",
            description = "model jobs that may wait while one runs; more get 503 (default: ${DEFAULT-VALUE})")
    int queue;

    @Option(
            names = "--max-body-mb",
            defaultValue = "10",
            description = "largest request body in MiB (default: ${DEFAULT-VALUE})")
    int maxBodyMb;

    @Option(
            names = "--max-image-pixels",
            defaultValue = "16777216",
            description = "largest uploaded image in pixels, checked before decoding (default: ${DEFAULT-VALUE})")
    long maxImagePixels;

    @Option(
            names = "--max-connections",
            defaultValue = "64",
            paramLabel = "N",
            description = "connections read and answered at once; more are closed (default: ${DEFAULT-VALUE})")
    int maxConnections;

    @Option(
            names = "--max-client-connections",
            defaultValue = "16",
            paramLabel = "N",
            description = "requests one client address may have in progress; more get 429 (default: ${DEFAULT-VALUE})")
    int maxClientConnections;

    @Option(
            names = "--read-timeout",
            defaultValue = "20",
            paramLabel = "SECONDS",
            description = "time a client has to send a request head, or may stay silent while sending a body or"
                    + " reading an answer, before its connection is closed (default: ${DEFAULT-VALUE})")
    double readTimeout;

    @Option(
            names = "--allow-host",
            paramLabel = "NAME",
            split = ",",
            description = "another name this server answers to in the Host header (besides localhost, 127.0.0.1,"
                    + " [::1] and --host), e.g. when reached through a proxy; repeatable")
    List<String> allowHosts = new ArrayList<>();

    @Option(
            names = "--allow-origin",
            paramLabel = "URL",
            split = ",",
            description = "an origin (scheme://host[:port]) whose pages may call the API; repeatable")
    List<String> allowOrigins = new ArrayList<>();

    @Option(
            names = "--sigma",
            paramLabel = "STD",
            description = "training noise std for denoising (default: the checkpoint's 'noise' metadata)")
    Double sigma;

    @Option(
            names = "--strategy",
            paramLabel = "FILE",
            description = "GS-Jacobi strategy for \"sampler\": \"jacobi\" requests, from tarflow calibrate"
                    + " (default: the sampling package's default strategy)")
    Path strategy;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() throws Exception {
        if (sigma != null && !(sigma > 0 && Double.isFinite(sigma))) {
            throw new IllegalArgumentException("--sigma must be finite and > 0, got " + sigma);
        }
        if (maxBodyMb < 1 || maxBodyMb > 1024) {
            throw new IllegalArgumentException("--max-body-mb must be 1..1024, got " + maxBodyMb);
        }
        if (!(readTimeout >= 0.1 && readTimeout <= 3600)) {
            throw new IllegalArgumentException("--read-timeout must be 0.1..3600 seconds, got " + readTimeout);
        }
        ServerOptions options = ServerOptions.builder()
                .host(host)
                .port(port)
                .maxBatch(maxBatch)
                .queue(queue)
                .maxBodyBytes(maxBodyMb * 1024L * 1024L)
                .maxImagePixels(maxImagePixels)
                .maxConnections(maxConnections)
                .maxClientConnections(maxClientConnections)
                .readTimeout(Duration.ofMillis(Math.round(readTimeout * 1000)))
                .allowHosts(allowHosts)
                .allowOrigins(allowOrigins)
                .build();
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        ModelFile.Loaded loaded = model.load(Runtime.device(device));
        ServedModel served = ServedModel.of(loaded, sigma == null ? Double.NaN : sigma);
        if (strategy != null) {
            served = served.withStrategy(strategy);
        }
        TarflowServer server = TarflowServer.start(served, options);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(
                () -> {
                    stderr.println("stopping: finishing the jobs already accepted...");
                    server.close();
                    stderr.println("stopped");
                    stopped.countDown();
                },
                "tarflow-serve-shutdown");
        java.lang.Runtime.getRuntime().addShutdownHook(hook);
        stdout.println(
                "serving " + model.path + " (" + served.config().describe() + (loaded.usedEma() ? ", EMA weights" : "")
                        + ") with " + Runtime.threads() + " threads; GS-Jacobi strategy: " + served.strategyName());
        if (!server.loopbackOnly()) {
            stderr.println("warning: listening on " + host + ", which other machines can reach; the server has no"
                    + " authentication. Use --host 127.0.0.1 to keep it local.");
        }
        stdout.println("open " + server.uri() + "   (Ctrl-C to stop)");
        stopped.await();
        return 0;
    }
}
