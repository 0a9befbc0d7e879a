package io.tarflow4j.cli;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.conformance.ReferenceCheck;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tarflow verify-reference FIXTURE [--weights CKPT]}. */
@Command(
        name = "verify-reference",
        mixinStandardHelpOptions = true,
        description = {
            "Checks this implementation against a reference fixture (docs/reference-fixtures.md):",
            "recomputes every tensor the fixture holds and compares it with the agreement rule",
            "max|ours - ref| <= 2e-4 * max(1e-2, max|ref|). Exits 1 on any mismatch."
        })
final class VerifyReferenceCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    NonFiniteOption nonFinite;

    @Parameters(index = "0", paramLabel = "FIXTURE", description = "fixture .safetensors file")
    Path fixture;

    @Option(
            names = "--weights",
            paramLabel = "CKPT",
            description =
                    "check these weights (our checkpoint, a safetensors state dict or a .pth) instead of the fixture's model.* tensors")
    Path weights;

    @Option(names = "--quiet", description = "print failures and the summary only")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        if (!java.nio.file.Files.isRegularFile(fixture)) {
            // checked before --weights, which can take seconds to load at the paper's sizes
            throw new java.nio.file.NoSuchFileException(fixture.toString(), null, "fixture not found");
        }
        var override = weights == null
                ? null
                : ModelFile.load(
                                weights,
                                nonFinite.apply(
                                        new ModelFile.LoadOptions(0, 0, false, new org.bytedeco.pytorch.Device("cpu"))))
                        .model()
                        .state();
        PrintWriter stdout = spec.commandLine().getOut();
        ReferenceCheck.Report report = ReferenceCheck.run(fixture, override);
        for (ReferenceCheck.Result r : report.results()) {
            if (!quiet || !r.passed()) {
                stdout.printf(
                        "%-4s %-58s max err %.3e  tol %.3e%n",
                        r.passed() ? "ok" : "FAIL", r.name(), r.maxError(), r.tolerance());
            }
        }
        long failed = report.failures().size();
        stdout.printf(
                "%s: %d tensors checked, %d mismatched%n",
                fixture.getFileName(), report.results().size(), failed);
        return report.passed() ? 0 : 1;
    }
}
