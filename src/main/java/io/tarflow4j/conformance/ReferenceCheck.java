package io.tarflow4j.conformance;

import io.tarflow4j.evaluation.BitsPerDim;
import io.tarflow4j.evaluation.Prior;
import io.tarflow4j.io.RawTensor;
import io.tarflow4j.io.Safetensors;
import io.tarflow4j.io.SafetensorsFile;
import io.tarflow4j.model.CheckpointedForward;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.Denoiser;
import io.tarflow4j.tensor.AdamW;
import io.tarflow4j.tensor.NativeScope;
import io.tarflow4j.tensor.RawTensors;
import io.tarflow4j.tensor.Tensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Checks this implementation against a reference fixture: a safetensors file of the documented
 * format (see {@code docs/reference-fixtures.md}) holding a model's weights, inputs and every
 * tensor the reference computed from them. Each output is compared with the agreement rule
 * {@code max |ours - ref| <= 2e-4 * max(1e-2, max |ref|)}.
 */
public final class ReferenceCheck {
    /** Relative tolerance of the agreement rule. */
    public static final double RELATIVE_TOLERANCE = 2e-4;

    private final Map<String, Tensor> file;
    private final FixtureSettings settings;
    private final Map<String, Tensor> weights;

    private ReferenceCheck(Map<String, Tensor> file, FixtureSettings settings, Map<String, Tensor> weights) {
        this.file = file;
        this.settings = settings;
        this.weights = weights;
    }

    /**
     * Runs every check the fixture has tensors for.
     *
     * @param fixture the fixture's safetensors file
     * @param weights weights to check instead of the fixture's {@code model.*} tensors (reference
     *     names without the prefix), or null
     */
    public static Report run(Path fixture, Map<String, Tensor> weights) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata;
        try (SafetensorsFile f = Safetensors.read(fixture)) {
            for (Map.Entry<String, RawTensor> e : f.tensors().entrySet()) {
                tensors.put(e.getKey(), RawTensors.toTensor(e.getValue()));
            }
            metadata = f.metadata();
        }
        List<String> checked = List.of("input.x", "bpd.pixels", "reverse.noise", "denoise.input");
        if (checked.stream().noneMatch(tensors::containsKey)) {
            throw new IOException(fixture + ": not a reference fixture: it holds none of the tensors a fixture"
                    + " checks (" + String.join(", ", checked) + "); to check a model's weights give a fixture"
                    + " and --weights MODEL (docs/reference-fixtures.md)");
        }
        FixtureSettings settings = FixtureSettings.load(fixture, metadata);
        Map<String, Tensor> w = weights;
        if (w == null) {
            w = new LinkedHashMap<>();
            for (var e : tensors.entrySet()) {
                if (e.getKey().startsWith("model.")) {
                    w.put(e.getKey().substring("model.".length()), e.getValue());
                }
            }
        }
        return new ReferenceCheck(tensors, settings, w)
                .runAll(fixture.getFileName().toString());
    }

    private Report runAll(String name) {
        List<Result> results = new ArrayList<>();
        TarFlowConfig config = settings.config();
        TarFlow model = new TarFlow(config);
        model.loadState(weights);
        Tensor x = file.get("input.x");
        Tensor y = file.get("input.y");
        try (NativeScope scope = NativeScope.open()) {
            if (x != null) {
                TarFlow.ForwardResult r = model.forward(x, y);
                compare(results, "forward.z", r.z());
                compare(results, "forward.logdets", r.logdets());
                for (int i = 0; i < r.outputs().size(); i++) {
                    compare(results, "forward.outputs." + i, r.outputs().get(i));
                }
                compare(results, "forward.loss", TarFlow.loss(r));
            }
        }
        if (file.containsKey("bpd.pixels")) {
            try (NativeScope scope = NativeScope.open()) {
                Tensor images = BitsPerDim.dequantize(file.get("bpd.pixels"), file.get("bpd.uniform"));
                // the reference's evaluation: no label, standard normal prior (= the learned one for NVP models)
                compare(
                        results,
                        "bpd.value",
                        BitsPerDim.perImage(model, images, null, Prior.STANDARD).detach());
            }
        }
        if (file.containsKey("reverse.noise")) {
            reverseChecks(results, model);
        }
        if (file.containsKey("denoise.input")) {
            try (NativeScope scope = NativeScope.open()) {
                Tensor in = file.get("denoise.input");
                double sigma = settings.sigma();
                double scale = settings.denoiseStep() / (in.numel() * sigma * sigma);
                compare(results, "denoise.output", Denoiser.denoise(model, in, file.get("reverse.y"), sigma, scale));
            }
        }
        if (x != null) {
            // AdamW's first step moves each weight by about lr * g / (|g| + eps), which turns
            // float32 rounding of near-zero gradients into errors past the tolerance; the reference
            // computed these in float64, and so does this check.
            TarFlow exact = new TarFlow(config, model.device(), ScalarType.Double);
            exact.loadState(weights);
            gradientAndAdamWChecks(results, exact, exact.place(x), y);
        }
        return new Report(name, List.copyOf(results));
    }

    private void reverseChecks(List<Result> results, TarFlow model) {
        Tensor noise = file.get("reverse.noise");
        Tensor y = file.get("reverse.y");
        for (var v : settings.reverseVariants().entrySet()) {
            if (file.containsKey(v.getKey())) {
                try (NativeScope scope = NativeScope.open()) {
                    compare(results, v.getKey(), model.reverse(noise, y, v.getValue()));
                }
            }
        }
        if (file.containsKey("reverse.sequence.0")) {
            try (NativeScope scope = NativeScope.open()) {
                List<Tensor> seq = model.reverseSequence(noise, y, Guidance.NONE);
                for (int k = 0; k < seq.size(); k++) {
                    compare(results, "reverse.sequence." + k, seq.get(k));
                }
            }
        }
    }

    private void gradientAndAdamWChecks(List<Result> results, TarFlow model, Tensor x, Tensor y) {
        try (NativeScope scope = NativeScope.open()) {
            Tensor input = x.clone().requires_grad_(true);
            TarFlow.loss(model.forward(input, y)).backward();
            compare(results, "grad.input", input.grad());
            for (var p : model.parameters().entrySet()) {
                compare(results, "grad." + p.getKey(), p.getValue().grad());
            }
            checkpointedGradientChecks(results, model, x, y);
            if (settings.adamwLr() > 0) {
                try (AdamW opt = new AdamW(
                        List.copyOf(model.parameters().values()),
                        settings.adamwLr(),
                        settings.adamwBeta1(),
                        settings.adamwBeta2(),
                        settings.adamwEps(),
                        settings.adamwWeightDecay())) {
                    opt.step();
                }
                for (var p : model.parameters().entrySet()) {
                    compare(results, "adamw." + p.getKey(), p.getValue());
                }
            }
        }
    }

    /**
     * The gradients again, by activation checkpointing's recomputing backward pass (checked as
     * {@code grad.NAME (checkpointed)}); the parameters' gradients are left as the plain pass made them.
     */
    private void checkpointedGradientChecks(List<Result> results, TarFlow model, Tensor x, Tensor y) {
        Map<String, Tensor> plain = new LinkedHashMap<>();
        model.parameters().forEach((name, p) -> plain.put(name, p.grad().clone()));
        model.parameters().values().forEach(p -> p.grad().zero_());
        CheckpointedForward pass = CheckpointedForward.run(model, x, y);
        String suffix = " (checkpointed)";
        compare(results, "grad.input", suffix, model.unpatchify(pass.backward(TarFlow::loss)));
        for (var p : model.parameters().entrySet()) {
            compare(results, "grad." + p.getKey(), suffix, p.getValue().grad());
            p.getValue().grad().copy_(plain.get(p.getKey()));
        }
    }

    private void compare(List<Result> results, String name, Tensor ours) {
        compare(results, name, "", ours);
    }

    /** Compares {@code ours} with the fixture's tensor {@code name}, reported as {@code name + label}. */
    private void compare(List<Result> results, String name, String label, Tensor ours) {
        Tensor ref = file.get(name);
        if (ref == null) {
            return;
        }
        double scale =
                Math.max(1e-2, Tensors.item(ref.to(ScalarType.Double).abs().max()));
        double tol = RELATIVE_TOLERANCE * scale;
        if (ours == null || !ours.defined()) {
            results.add(new Result(name + label, Double.POSITIVE_INFINITY, tol));
            return;
        }
        Tensor o = ours.detach().reshape(Tensors.shape(ref));
        results.add(new Result(name + label, Tensors.maxAbsDiff(o, ref), tol));
        if (Boolean.getBoolean("tarflow.debug") && Tensors.maxAbsDiff(o, ref) > tol) {
            float[] a = Tensors.toFloats(o.flatten(0, -1));
            float[] b = Tensors.toFloats(ref.flatten(0, -1));
            for (int i = 0; i < a.length; i++) {
                if (Math.abs(a[i] - b[i]) > tol) {
                    System.out.println(name + label + "[" + i + "] ours " + a[i] + " ref " + b[i]);
                }
            }
        }
    }

    /**
     * One compared tensor.
     *
     * @param name the fixture's tensor name
     * @param maxError max |ours - ref| (infinite when we produced nothing)
     * @param tolerance the allowed error for this tensor
     */
    public record Result(String name, double maxError, double tolerance) {
        /** Whether the error is within tolerance (NaN fails). */
        public boolean passed() {
            return maxError <= tolerance;
        }
    }

    /**
     * All checks of one fixture.
     *
     * @param fixture the file name
     * @param results one entry per compared tensor
     */
    public record Report(String fixture, List<Result> results) {
        /** Whether every check passed. */
        public boolean passed() {
            return !results.isEmpty() && results.stream().allMatch(Result::passed);
        }

        /** The failed checks. */
        public List<Result> failures() {
            return results.stream().filter(r -> !r.passed()).toList();
        }
    }
}
