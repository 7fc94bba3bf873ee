#!/usr/bin/env bash
# Regenerates the Lucene fixtures in tests/reference/fixtures/ (committed; tests only read them).
# Needs Java 17+, curl, node; downloads two Lucene jars from Maven Central into .cache/ (git-ignored).
#   bash tests/reference/gen/lucene/run.sh [SCIFACT_DIR]
set -euo pipefail

LUCENE_VERSION=9.12.3 # newest Lucene 9 (Java 17); Anserini's BEIR regressions ran on Lucene 9
ROOT="$(cd "$(dirname "$0")/../../../.." && pwd)"
HERE="$ROOT/tests/reference/gen/lucene"
DATA="${1:-$ROOT/../shared/data/beir/scifact}"
CACHE="$ROOT/.cache/lucene"
WORK="$CACHE/work"
OUT="$ROOT/tests/reference/fixtures"
MAVEN=https://repo1.maven.org/maven2/org/apache/lucene

mkdir -p "$CACHE/classes" "$WORK" "$OUT"
CP=""
for artifact in lucene-core lucene-analysis-common; do
  jar="$CACHE/$artifact-$LUCENE_VERSION.jar"
  if [ ! -s "$jar" ]; then
    curl -sSfL -o "$jar.part" "$MAVEN/$artifact/$LUCENE_VERSION/$artifact-$LUCENE_VERSION.jar"
    want="$(curl -sSfL "$MAVEN/$artifact/$LUCENE_VERSION/$artifact-$LUCENE_VERSION.jar.sha1" | cut -c1-40)"
    got="$(sha1sum "$jar.part" | cut -c1-40)"
    [ "$want" = "$got" ] || { echo "sha1 mismatch for $artifact: $got != $want" >&2; exit 1; }
    mv "$jar.part" "$jar"
  fi
  CP="$CP:$jar"
done
CP="${CP#:}"

(cd "$ROOT" && npx tsx "$HERE/prepare-inputs.ts" "$DATA" "$WORK")
javac -d "$CACHE/classes" -cp "$CP" "$HERE/LuceneReference.java"
java -Xmx2g -cp "$CACHE/classes:$CP" LuceneReference "$WORK" "$OUT"
ls -l "$OUT"/lucene-*.json
