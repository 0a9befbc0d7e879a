package io.tarflow4j.model;

import static io.tarflow4j.tensor.Ops.s;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * Parameter initialisers as the reference's modules use them, drawn on the CPU from libtorch's
 * default generator (seed it for repeatable models) and then placed on the model's device. A model
 * whose weights will be loaded next skips the drawing ({@code drawn = false}): its random weights
 * are left unset, constants (ones, zeros, masks) are still made.
 */
final class Init {
    private final Device device;
    private final ScalarType dtype;
    private final boolean drawn;

    Init(Device device, ScalarType dtype) {
        this(device, dtype, true);
    }

    Init(Device device, ScalarType dtype, boolean drawn) {
        this.device = device;
        this.dtype = dtype;
        this.drawn = drawn;
    }

    /** Uniform on [-bound, bound], as {@code torch.nn.Linear}'s default. */
    Tensor uniform(double bound, long... shape) {
        return drawn ? place(torch.rand(shape).mul_(s(2 * bound)).sub_(s(bound))) : unset(shape);
    }

    /** Normal with standard deviation {@code std}. */
    Tensor normal(double std, long... shape) {
        return drawn ? place(torch.randn(shape).mul_(s(std))) : unset(shape);
    }

    private Tensor unset(long... shape) {
        return place(torch.empty(shape));
    }

    Tensor zeros(long... shape) {
        return place(torch.zeros(shape));
    }

    Tensor ones(long... shape) {
        return place(torch.ones(shape));
    }

    private Tensor place(Tensor t) {
        return device.is_cpu() && dtype == ScalarType.Float ? t : t.to(device, dtype);
    }
}
