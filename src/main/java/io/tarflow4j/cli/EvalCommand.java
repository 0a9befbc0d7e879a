package io.tarflow4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code tarflow eval bpd|classify|samples|ood}: exact likelihood and sample-quality evaluations. */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = "Evaluations: bits/dim on a test set, Bayes classification, sample quality (FD, class accuracy),"
                + " out-of-distribution detection.",
        subcommands = {EvalBpdCommand.class, EvalClassifyCommand.class, EvalSamplesCommand.class, EvalOodCommand.class})
final class EvalCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                spec.commandLine(), "choose an evaluation: bpd, classify, samples or ood");
    }
}
