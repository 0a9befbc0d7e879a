#!/usr/bin/env bash
# The test command: every default test (unit, conformance with the reference fixtures,
# multi-process, HTTP API) with a JDK 21+ found automatically. Extra arguments go to Maven,
# e.g. scripts/test.sh -Dtest=ReferenceConformanceTest, or -Pslow for the minutes-long tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/java-home.sh
echo "JAVA_HOME=$JAVA_HOME"
exec ./mvnw -B verify "$@"
