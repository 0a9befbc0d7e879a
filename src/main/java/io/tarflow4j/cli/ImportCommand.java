package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.model.TarFlowConfig;
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
@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Converts a PyTorch TarFlow state dict (.pth, read by a restricted reader that never",
            "runs code) into a tarflow4j model file. The configuration is inferred from tensor names and",
            "shapes; give what cannot be inferred (head size, channels when ambiguous) by flag."})
final class ImportCommand implements Callable<Integer> {
    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @Parameters(index = "0", paramLabel = "MODEL.pth", description = "PyTorch state dict saved with torch.save(model.state_dict())")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "output .safetensors")
    Path out;

    @Option(names = "--channels", paramLabel = "C", description = "image channels (default: inferred; 3 when the token size is 3*p^2)")
    int channels;

    @Option(names = "--head-dim", paramLabel = "H", description = "attention head size (default 64, the reference's)")
    int headDim;

    @Option(names = "--image-size", paramLabel = "S", description = "expected image size: checked against the inferred one")
    int imageSize;

    @Option(names = "--noise", paramLabel = "SPEC", description = "training noise to record, gaussian:SIGMA or uniform (used by --denoise)")
    String noise;

    @Override
    public Integer call() throws Exception {
        ModelFile.Loaded loaded = ModelFile.load(input, nonFinite.apply(new ModelFile.LoadOptions(channels, headDim, false, new Device("cpu"))));
        TarFlowConfig c = loaded.model().config();
        if (imageSize > 0 && imageSize != c.imageSize()) {
            throw new IllegalArgumentException("--image-size " + imageSize + " does not match " + input
                    + ", whose position embeddings give " + c.imageSize());
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("source", input.getFileName().toString());
        if (noise != null) {
            if (!noise.equals("uniform") && !noise.matches("gaussian:[0-9.eE+-]+")) {
                throw new IllegalArgumentException("--noise must be gaussian:SIGMA or uniform, got '" + noise + "'");
            }
            meta.put(ModelFile.NOISE, noise);
        }
        ModelFile.save(out, loaded.model(), meta);
        System.out.println("imported " + input + " -> " + out);
        System.out.println("configuration: " + c.describe() + ", " + c.parameterCount() + " parameters");
        return 0;
    }
}
