# Sourced by ./tarflow and .ci/run: exports JAVA_HOME pointing at a JDK >= 21 (25 preferred).
# Order: TARFLOW_JAVA_HOME, then JAVA_HOME if it is new enough, then JDKs under /usr/lib/jvm
# and /opt (Temurin 25 first), then the java on PATH.
_tarflow_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}
_tarflow_pick_java() {
  local c major
  for c in "${TARFLOW_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /opt/*jdk*25* \
           /usr/lib/jvm/temurin-2[1-9]* /usr/lib/jvm/*-2[1-9]*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    major=$(_tarflow_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  if command -v java >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    major=$(_tarflow_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null; then echo "$c"; return 0; fi
  fi
  return 1
}
if _picked=$(_tarflow_pick_java); then
  export JAVA_HOME="$_picked"
else
  echo "tarflow: no JDK 21 or newer found (set TARFLOW_JAVA_HOME or JAVA_HOME to a JDK 21+, 25 recommended)" >&2
  return 1 2>/dev/null || exit 1
fi
unset _picked
