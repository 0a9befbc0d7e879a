package io.tarflow4j.cli;

import picocli.CommandLine;

/** Prints the version of tarflow4j and of the libtorch it runs on. */
final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {"tarflow4j " + (v == null ? "(development build)" : v), "libtorch 2.10.0 (Bytedeco 1.5.13)"
        };
    }
}
