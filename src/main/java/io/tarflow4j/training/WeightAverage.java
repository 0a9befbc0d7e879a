package io.tarflow4j.training;

import static io.tarflow4j.tensor.Ops.s;

import io.tarflow4j.io.RawTensor;
import io.tarflow4j.model.TarFlow;
import io.tarflow4j.tensor.GradMode;
import io.tarflow4j.tensor.RawTensors;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;

/**
 * An exponential moving average of a model's parameters:
 * {@code ema = decay * ema + (1 - decay) * param} after every optimizer step. Sampling and
 * evaluation use it when training keeps one.
 */
public final class WeightAverage {
    private final TarFlow model;
    private final double decay;
    private final Map<String, Tensor> shadow;

    /** An average that starts equal to the model's current parameters. */
    public WeightAverage(TarFlow model, double decay) {
        if (!(decay > 0 && decay < 1)) {
            throw new IllegalArgumentException("EMA decay must be in (0, 1), got " + decay);
        }
        this.model = model;
        this.decay = decay;
        Map<String, Tensor> copy = new LinkedHashMap<>();
        try (GradMode g = GradMode.off()) {
            model.parameters().forEach((k, v) -> {
                Tensor t = v.detach().clone();
                t.retainReference();
                copy.put(k, t);
            });
        }
        this.shadow = Collections.unmodifiableMap(copy);
    }

    /** The decay rate. */
    public double decay() {
        return decay;
    }

    /** Moves the average towards the model's current parameters. */
    public void update() {
        try (GradMode g = GradMode.off()) {
            model.parameters().forEach((k, v) -> shadow.get(k).lerp_(v.detach(), s(1 - decay)));
        }
    }

    /** The averaged parameters by reference name. */
    public Map<String, Tensor> parameters() {
        return shadow;
    }

    /** Replaces the averaged parameters (from a checkpoint); every parameter must be present. */
    public void load(Map<String, RawTensor> values) {
        for (String name : shadow.keySet()) {
            if (!values.containsKey(name)) {
                throw new IllegalArgumentException("EMA weights lack " + name);
            }
        }
        RawTensors.copyAll(values, shadow);
    }

    /** A new model with the averaged parameters and the trained model's buffers. */
    public TarFlow toModel() {
        TarFlow copy = TarFlow.forLoading(model.config(), model.device(), model.dtype());
        Map<String, Tensor> state = new LinkedHashMap<>(model.buffers());
        state.putAll(shadow);
        copy.loadState(state);
        return copy;
    }
}
