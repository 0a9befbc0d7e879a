package io.tarflow4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tarflow4j.evaluation.EvalReport;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The {@code --out} JSON result file of the evaluations, eval-NAME.json beside the model by
 * default (a picocli mixin).
 */
final class ReportOption {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--out",
            paramLabel = "FILE",
            description = "JSON result file (default: eval-${COMMAND-NAME}.json beside the model)")
    Path out;

    /** A new report of this evaluation of {@code model}. */
    ObjectNode start(Path model) {
        return EvalReport.start(spec.name(), model);
    }

    /** Writes {@code report} (atomically) to {@code --out} or beside {@code model}, and returns where. */
    Path write(Path model, ObjectNode report) throws IOException {
        Path target = EvalReport.beside(model, out, "eval-" + spec.name() + ".json");
        EvalReport.write(target, report);
        return target;
    }
}
