#!/usr/bin/env bash
# Builds the benchmarks module (no install) and runs it.
#   benchmarks/bench.sh quick [--full] [--filter S]   the comparison table (QuickBench), a few minutes
#   benchmarks/bench.sh jmh [JMH options]             the full JMH suite, e.g. jmh Gemm -p name=sgemm_512
#   benchmarks/bench.sh cputime --filter S [--runs N]  CPU rows by the calling thread's CPU time, one core (a busy machine)
# KILN_BENCH_PROFILES=pytorch builds with -Ppytorch: PyTorch (CPU) as the reference for conv2d, softmax, layer_norm.
# KILN_JAVA_OPTS adds JVM options, e.g. KILN_JAVA_OPTS=-Dkiln.cpu.threads=1 OPENBLAS_NUM_THREADS=1 for one core.
# The reference gets its best settings: OpenBLAS picks its kernels for this CPU (override with
# OPENBLAS_CORETYPE) and gets as many threads as Kiln's pool (all cores) unless OPENBLAS_NUM_THREADS is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-$(nproc)}"
mode="${1:-quick}"; shift || true
cpfile="$PWD/benchmarks/target/classpath.txt"
mvn -q ${KILN_BENCH_PROFILES:+-P"$KILN_BENCH_PROFILES"} package dependency:build-classpath -pl benchmarks -am -DskipTests -Dmdep.outputFile="$cpfile" >/dev/null
cp="$PWD/benchmarks/target/classes:$(cat "$cpfile")"
jvm=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
     -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Dorg.bytedeco.javacpp.maxBytes=0 -Xmx8g ${KILN_JAVA_OPTS:-})
case "$mode" in
  quick) exec "$JAVA_HOME/bin/java" "${jvm[@]}" -cp "$cp" dev.kiln.bench.QuickBench "$@" ;;
  jmh)   exec "$JAVA_HOME/bin/java" "${jvm[@]}" -cp "$cp" org.openjdk.jmh.Main "$@" ;;
  cputime) exec "$JAVA_HOME/bin/java" "${jvm[@]}" -cp "$cp" dev.kiln.bench.CpuTimeBench "$@" ;;
  *)     echo "usage: $0 quick [--full] [--filter S] | jmh [JMH options] | cputime --filter S [--runs N]" >&2; exit 2 ;;
esac
