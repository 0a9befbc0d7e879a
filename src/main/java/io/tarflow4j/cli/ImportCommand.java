package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.training.NoiseSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Device;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tarflow import MODEL.pth --out MODEL.safetensors}. */
@Command(
        name = "import",
        mixinStandardHelpOptions = true,
        description = {
            "Converts a PyTorch TarFlow state dict (.pth, read by a restricted reader that never",
            "runs code) into a tarflow4j model file. The configuration is inferred from tensor names and",
            "shapes; give what cannot be inferred (head size, channels when ambiguous) by flag."
        })
final class ImportCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @Parameters(
            index = "0",
            paramLabel = "MODEL.pth",
            description = "PyTorch state dict saved with torch.save(model.state_dict())")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "output .safetensors")
    Path out;

    @Option(
            names = "--channels",
            paramLabel = "C",
            description = "image channels (default: inferred; 3 when the token size is 3*p^2)")
    Integer channels;

    @Option(names = "--head-dim", paramLabel = "H", description = "attention head size (default 64, the reference's)")
    Integer headDim;

    @Option(
            names = "--image-size",
            paramLabel = "S",
            description = "expected image size: checked against the inferred one")
    Integer imageSize;

    @Option(
            names = "--noise",
            paramLabel = "SPEC",
            description = "training noise to record, gaussian:SIGMA or uniform (used by --denoise)")
    String noise;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (channels != null && channels != 1 && channels != 3) {
            throw new CommandLine.ParameterException(cl, "--channels must be 1 or 3, got " + channels);
        }
        if (headDim != null && headDim < 1) {
            throw new CommandLine.ParameterException(cl, "--head-dim must be >= 1, got " + headDim);
        }
        if (imageSize != null && imageSize < 1) {
            throw new CommandLine.ParameterException(cl, "--image-size must be >= 1, got " + imageSize);
        }
        NoiseSpec noiseSpec;
        try {
            noiseSpec = noise == null ? null : NoiseSpec.parse(noise);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--noise: " + e.getMessage());
        }
        ModelFile.Loaded loaded = ModelFile.load(
                input,
                nonFinite.apply(new ModelFile.LoadOptions(
                        channels == null ? 0 : channels, headDim == null ? 0 : headDim, false, new Device("cpu"))));
        TarFlowConfig c = loaded.model().config();
        if (imageSize != null && imageSize != c.imageSize()) {
            throw new IllegalArgumentException("--image-size " + imageSize + " does not match " + input
                    + ", whose position embeddings give " + c.imageSize());
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("source", input.getFileName().toString());
        if (noiseSpec != null) {
            meta.put(ModelFile.NOISE, noiseSpec.toString());
        }
        ModelFile.save(out, loaded.model(), meta);
        PrintWriter stdout = cl.getOut();
        stdout.println("imported " + input + " -> " + out);
        stdout.println("configuration: " + c.describe() + ", " + c.parameterCount() + " parameters");
        return 0;
    }
}
