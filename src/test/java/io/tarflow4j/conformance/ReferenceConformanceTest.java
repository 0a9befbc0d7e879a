package io.tarflow4j.conformance;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReferenceConformanceTest {
    static Path fixture(String name) throws Exception {
        return Path.of(ReferenceConformanceTest.class
                .getResource("/fixtures/" + name + ".safetensors")
                .toURI());
    }

    @ParameterizedTest
    @ValueSource(strings = {"cond_nvp", "uncond_nvp_tempguide"})
    void everyReferenceTensorMatches(String name) throws Exception {
        ReferenceCheck.Report report = ReferenceCheck.run(fixture(name), null);
        for (ReferenceCheck.Result r : report.results()) {
            if (!r.passed()
                    || r.name().startsWith("forward")
                    || r.name().startsWith("reverse")
                    || r.name().startsWith("bpd")
                    || r.name().startsWith("denoise")) {
                System.out.printf(
                        "%-60s err %.3g tol %.3g %s%n",
                        r.name(), r.maxError(), r.tolerance(), r.passed() ? "" : "FAIL");
            }
        }
        assertFalse(report.results().isEmpty());
        assertTrue(
                report.results().stream().anyMatch(r -> r.name().equals("grad.input (checkpointed)")),
                "activation checkpointing's gradients are checked too");
        assertTrue(
                report.passed(),
                () -> report.failures().stream()
                        .map(ReferenceCheck.Result::name)
                        .collect(Collectors.joining(", ")));
    }
}
