/**
 * The thin layer over Bytedeco's libtorch: the only package that knows its quirks.
 *
 * <p>Everything above this package writes tensor math; everything here makes that math safe
 * and convenient from Java: {@link io.tarflow4j.tensor.NativeScope} frees the native memory of
 * a step, {@link io.tarflow4j.tensor.Tensors} converts between Java arrays and tensors,
 * {@link io.tarflow4j.tensor.Ops} holds the few functional operations the model needs with
 * their optional arguments filled in, {@link io.tarflow4j.tensor.GradMode} switches autograd
 * off, {@link io.tarflow4j.tensor.AdamW} wraps libtorch's optimizer with PyTorch's meaning of
 * its betas, and {@link io.tarflow4j.tensor.Runtime} sets threads and devices.
 */
package io.tarflow4j.tensor;
