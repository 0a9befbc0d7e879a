package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tarflow export CKPT --out model.safetensors}. */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Writes a model as a safetensors state dict with the reference's parameter names,",
            "for PyTorch: model.load_state_dict(safetensors.torch.load_file('model.safetensors'))"
        })
final class ExportCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ModelLoadOptions loading;

    @Parameters(index = "0", paramLabel = "CKPT", description = "training checkpoint or any model file tarflow reads")
    Path input;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "output .safetensors")
    Path out;

    @Override
    public Integer call() throws Exception {
        ModelFile.Loaded loaded = loading.load(input);
        Map<String, String> meta = new LinkedHashMap<>();
        String noise = loaded.metadata().get(ModelFile.NOISE);
        if (noise != null) {
            meta.put(ModelFile.NOISE, noise);
        }
        String classes = loaded.metadata().get(ModelFile.CLASS_NAMES);
        if (classes != null) {
            meta.put(ModelFile.CLASS_NAMES, classes);
        }
        ModelFile.save(out, loaded.model(), meta);
        spec.commandLine()
                .getOut()
                .println("exported " + (loaded.usedEma() ? "EMA weights of " : "") + input + " -> " + out);
        return 0;
    }
}
