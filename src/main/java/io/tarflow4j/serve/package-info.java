/**
 * {@code tarflow serve}: a local web page and JSON API to sample from and score images with a
 * trained model. {@link io.tarflow4j.serve.TarflowServer} is the HTTP server (the JDK's
 * {@code com.sun.net.httpserver}); {@link io.tarflow4j.serve.SampleGenerator} and
 * {@link io.tarflow4j.serve.UploadScorer} are the only classes that talk to the model, and all model
 * work runs on the single thread of a {@link io.tarflow4j.serve.ModelWorker} with a bounded queue.
 */
package io.tarflow4j.serve;
