package io.tarflow4j.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tarflow4j.checkpoint.ModelFile;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * End to end in a real headless Chromium: the page loads the model description, Generate shows
 * the sample grid and the trace, an upload shows bits/dim and the class posterior, and a bad
 * parameter shows the server's error. Opt-in: {@code ./mvnw -Pbrowser test -Dtest=ServeBrowserTest}
 * (or scripts/browser-test.sh, which installs chromium and chromium-driver). The screenshot after
 * generating goes to the path in the system property {@code serve.screenshot}
 * (default target/serve-screenshot.png).
 */
@Tag("browser")
class ServeBrowserTest {
    private static TarflowServer server;
    private static ChromeDriver driver;

    @BeforeAll
    static void start() throws Exception {
        Path model = Path.of(ServeBrowserTest.class
                .getResource("/fixtures/cond_nvp.safetensors")
                .toURI());
        server = TarflowServer.start(
                ServedModel.of(ModelFile.load(model), 0.1),
                ServerOptions.builder().port(0).maxBatch(64).queue(4).build());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(System.getProperty("chromium.binary", "/usr/bin/chromium"));
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,1000");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(System.getProperty("chromedriver", "/usr/bin/chromedriver")))
                .usingAnyFreePort()
                .build();
        driver = new ChromeDriver(service, options);
        driver.manage().window().setSize(new Dimension(1280, 1000));
    }

    @AfterAll
    static void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (server != null) {
            server.close();
        }
    }

    private static WebDriverWait waiting() {
        return new WebDriverWait(driver, Duration.ofSeconds(60));
    }

    @Test
    void generateShowsTheGridAndTheTraceAndAnUploadIsScored(@TempDir Path dir) throws Exception {
        driver.get(server.uri().toString());
        waiting().until(d -> d.findElements(By.cssSelector("#class option")).size() == 4);
        assertTrue(
                driver.findElement(By.id("model-info")).getText().contains("3 classes"),
                driver.findElement(By.id("model-info")).getText());
        assertTrue(
                driver.findElement(By.cssSelector("#sampler option[value=jacobi]"))
                        .isEnabled(),
                "GS-Jacobi is offered");

        new Select(driver.findElement(By.id("class"))).selectByValue("1");
        setValue("guidance", "1.5");
        setValue("seed", "3");
        setValue("batch", "9");
        driver.findElement(By.id("denoise")).click();
        driver.findElement(By.id("trace-on")).click();
        driver.findElement(By.id("generate")).click();

        waiting().until(d -> loaded(By.id("grid-img")));
        WebElement grid = driver.findElement(By.id("grid-img"));
        long width = (Long) js("return arguments[0].naturalWidth;", grid);
        assertEquals(3 * (8 + 2) + 2, width, "a 3x3 grid of 8x8 images with padding 2");
        String status = driver.findElement(By.id("sample-status")).getText();
        assertTrue(status.matches("9 images in \\d+ ms.*seed 3, class 1, guidance 1\\.5.*denoised"), status);
        waiting().until(d -> d.findElements(By.cssSelector("#trace figure img")).size() == 4);
        List<String> captions = driver.findElements(By.cssSelector("#trace figcaption")).stream()
                .map(WebElement::getText)
                .toList();
        assertEquals(List.of("noise", "after block 1 of 2", "after block 2 of 2", "denoised"), captions);

        Path upload = dir.resolve("upload.png");
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                img.getRaster().setSample(x, y, 0, (x * 9 + y * 3) % 256);
            }
        }
        ImageIO.write(img, "png", upload.toFile());
        driver.findElement(By.id("upload")).sendKeys(upload.toAbsolutePath().toString());
        waiting().until(d -> d.findElement(By.id("score")).isDisplayed());
        assertTrue(
                driver.findElement(By.id("score-bpd")).getText().matches("\\d+\\.\\d{3} bits/dim"),
                driver.findElement(By.id("score-bpd")).getText());
        assertEquals(3, driver.findElements(By.cssSelector("#posterior .bar")).size());
        assertTrue(driver.findElement(By.id("score-notes")).getText().contains("resized 28x28 to 8x8"));

        Path shot = Path.of(System.getProperty("serve.screenshot", "target/serve-screenshot.png"));
        Files.createDirectories(shot.toAbsolutePath().getParent());
        driver.manage().window().setSize(new Dimension(1280, 1500)); // the whole page in one picture
        Files.write(shot, driver.getScreenshotAs(OutputType.BYTES));

        setValue("batch", "500");
        driver.findElement(By.id("generate")).click();
        waiting().until(d -> !d.findElement(By.id("sample-error")).getText().isEmpty());
        assertTrue(
                driver.findElement(By.id("sample-error")).getText().contains("batch"),
                driver.findElement(By.id("sample-error")).getText());
    }

    private static boolean loaded(By by) {
        List<WebElement> found = driver.findElements(by);
        return !found.isEmpty()
                && Boolean.TRUE.equals(
                        js("return arguments[0].complete && arguments[0].naturalWidth > 0;", found.get(0)));
    }

    private static Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private static void setValue(String id, String value) {
        WebElement e = driver.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }
}
