package io.tarflow4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import io.tarflow4j.model.Guidance;
import io.tarflow4j.sampling.SamplerType;
import io.tarflow4j.sampling.SamplingProgress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The server's sampling reports where a request stands. */
class SampleGeneratorProgressTest {

    @Test
    void progressOfTheLastRequestIsReadable() throws Exception {
        ServedModel served = ServedModel.of(ModelFile.load(ServeApiTest.fixture("cond_nvp.safetensors")), 0.1);
        SampleGenerator generator = new SampleGenerator(served, Duration.ZERO);
        assertTrue(generator.progress().isEmpty(), "no request yet");
        generator.sample(new SampleRequest(1, Guidance.of(1.0, 1.0), 1.0, 3, SamplerType.SEQUENTIAL, false, 2, false));
        SamplingProgress.Snapshot s = generator.progress().orElseThrow();
        int blocks = served.config().numBlocks();
        assertEquals(blocks, s.block());
        assertEquals(s.tokens(), s.token(), "the last report is at the last token");
        assertTrue(s.describe().startsWith("batch 1/1, block " + blocks + "/" + blocks), s.describe());
    }
}
