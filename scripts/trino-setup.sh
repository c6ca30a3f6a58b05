#!/usr/bin/env bash
# Fetches the Trino server the test suite runs the shared SQL on (the stand-in for Athena engine v3,
# test/support/trino-server.ts), into .trino/ of the checkout. Reused when already there; Maven keeps
# the download in ~/.m2, so a fresh clone on the same machine only unpacks it again.
#
# Trino 476 is what EMR 7.12 ships as its Trino; Athena does not publish the Trino release its engine
# v3 follows, so a recent release of the same line stands in. 476 needs Java 24 or later.
set -euo pipefail
cd "$(dirname "$0")/.."

TRINO_VERSION=476
DEST=.trino
SERVER="$DEST/trino-server-core-$TRINO_VERSION"

# The Java that runs Trino: TRINO_JAVA_HOME, else a Temurin or OpenJDK 25 under /usr/lib/jvm, else
# JAVA_HOME; it must be 24 or later (Maven itself runs on the default Java).
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
java_home=""
for candidate in "${TRINO_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64 "${JAVA_HOME:-}"; do
  if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ "$(java_major "$candidate")" -ge 24 ] 2>/dev/null; then
    java_home="$candidate"
    break
  fi
done
if [ -z "$java_home" ]; then
  echo "trino-setup: Trino $TRINO_VERSION needs Java 24 or later; none found (set TRINO_JAVA_HOME to a JDK 25)" >&2
  exit 1
fi

mkdir -p "$DEST"
# Maven's own cache: a file already there is used as it is, without starting Maven at all.
M2_REPO="${MAVEN_LOCAL_REPO:-$HOME/.m2/repository}"
# The path of an artifact in Maven's cache, fetched into it first when missing.
artifact() {
  local id="$1" type="$2" path="$M2_REPO/io/trino/$1/$TRINO_VERSION/$1-$TRINO_VERSION.$2" log
  if [ ! -f "$path" ]; then
    log=$(mktemp)
    if ! mvn -q -B -Dstyle.color=never dependency:get -Dtransitive=false \
      -Dartifact="io.trino:$id:$TRINO_VERSION:$type" >"$log" 2>&1; then
      cat "$log" >&2
      echo "trino-setup: could not fetch io.trino:$id:$TRINO_VERSION:$type through Maven" >&2
      exit 1
    fi
    rm -f "$log"
  fi
  if [ ! -f "$path" ]; then
    echo "trino-setup: Maven fetched $id but not into $M2_REPO: set MAVEN_LOCAL_REPO to its local repository" >&2
    exit 1
  fi
  printf '%s\n' "$path"
}

mkdir -p "$DEST"
if [ ! -f "$SERVER/.complete" ]; then
  started=$(date +%s)
  # trino-server-core is the smallest distribution (no connectors); the memory connector is its own
  # plugin artifact. Together about 210 MB, against well over a gigabyte for trino-server.
  core=$(artifact trino-server-core tar.gz)
  memory=$(artifact trino-memory zip)
  rm -rf "$SERVER"
  tar -xzf "$core" -C "$DEST"
  # Only the memory connector is loaded (plugin.dir points here): fewer jars, a faster start.
  rm -rf "$SERVER/plugin"
  mkdir -p "$SERVER/plugin"
  # The JDK's jar tool unzips: no unzip package needed.
  (cd "$SERVER/plugin" && "$java_home/bin/jar" xf "$memory" && mv "trino-memory-$TRINO_VERSION" memory)
  touch "$SERVER/.complete"
  echo "trino-setup: Trino $TRINO_VERSION in $SERVER ($(du -sh "$SERVER" | cut -f1), $(($(date +%s) - started)) s)"
fi
# What test/support/trino-server.ts reads: where the server and its Java are.
printf '%s\n' "$(cd "$SERVER" && pwd)" > "$DEST/server-dir"
printf '%s\n' "$java_home" > "$DEST/java-home"
echo "trino-setup: Trino $TRINO_VERSION ready, Java $(java_major "$java_home") at $java_home"
