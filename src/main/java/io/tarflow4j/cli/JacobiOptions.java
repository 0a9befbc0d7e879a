package io.tarflow4j.cli;

import io.tarflow4j.model.TarFlowConfig;
import io.tarflow4j.sampling.BlockStrategy;
import io.tarflow4j.sampling.InitialGuess;
import io.tarflow4j.sampling.JacobiStrategy;
import io.tarflow4j.sampling.SamplerType;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The GS-Jacobi strategy flags of the sampling commands: a calibrated {@code --strategy} file or
 * the same settings for every block (a picocli mixin).
 */
final class JacobiOptions {
    @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--max-iters", paramLabel = "K", description = "jacobi: most passes per segment (every block)")
    Integer maxIters;

    @Option(names = "--segments", paramLabel = "G", description = "jacobi: Gauss-Seidel segments per block")
    Integer segments;

    @Option(
            names = "--tol",
            paramLabel = "E",
            description = "jacobi: stop a segment when no element changes by more than E")
    Double tol;

    @Option(names = "--guess", paramLabel = "HOW", description = "jacobi: initial guess zeros or input")
    String guess;

    @Option(
            names = "--strategy",
            paramLabel = "FILE",
            description = "jacobi: per-block strategy file (from tarflow calibrate)")
    Path strategyFile;

    /**
     * The strategy the flags ask for with sampler {@code type}, refusing the flags for any other
     * sampler than GS-Jacobi: see {@link #strategy(TarFlowConfig)}.
     */
    JacobiStrategy strategy(TarFlowConfig config, SamplerType type) throws IOException {
        if (type != SamplerType.JACOBI && (perBlockFlags() || strategyFile != null)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--max-iters/--segments/--tol/--guess/--strategy apply to --sampler jacobi only");
        }
        return strategy(config);
    }

    /**
     * The strategy the flags ask for on {@code config}'s model: the {@code --strategy} file, the
     * default strategy with the per-block flags applied to every block, or null (none given: the
     * sampler's default).
     */
    JacobiStrategy strategy(TarFlowConfig config) throws IOException {
        boolean perFlag = perBlockFlags();
        if (perFlag && strategyFile != null) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "use either --strategy FILE or --max-iters/--segments/--tol/--guess, not both");
        }
        if (strategyFile != null) {
            return JacobiStrategy.read(strategyFile);
        }
        if (!perFlag) {
            return null;
        }
        BlockStrategy base = JacobiStrategy.defaultFor(config.numBlocks(), config.numTokens())
                .block(0);
        try {
            return JacobiStrategy.uniform(
                    config.numBlocks(),
                    new BlockStrategy(
                            segments != null ? segments : base.segments(),
                            maxIters != null ? maxIters : base.maxIterations(),
                            guess != null ? InitialGuess.parse(guess) : base.guess(),
                            tol != null ? tol : base.tolerance()));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private boolean perBlockFlags() {
        return maxIters != null || segments != null || tol != null || guess != null;
    }
}
