#!/usr/bin/env bash
# Builds Kiln here and gathers everything the GPU check needs into ONE folder, gpu-check/ at the repository root
# (git-ignored), for a GPU machine that has no JDK, no Maven and no network: a jlink'd Java runtime, the runtime
# jars, the test jars (conformance kit with the ONNX node suite, nn tests, backend-cuda tests), the JUnit console
# launcher, and the scripts. It must fit in 64 MiB; the size is printed at the end.
#
#   backend-cuda/gpu-check/prepare.sh            then, on the GPU machine: bash backend-cuda/gpu-check/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$ROOT/gpu-check"
JUNIT_CONSOLE_VERSION=1.14.4   # the JUnit Platform of the project's JUnit 5.14.4
LIMIT_BYTES=$((64 * 1024 * 1024))
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
cd "$ROOT"

echo "== building (package, tests compiled but not run)"
rm -rf "$DEST"
mkdir -p "$DEST/lib" "$DEST/tests"
# copy-dependencies in the same reactor run copies the Kiln modules' own jars too. The benchmarks module is there
# for GpuCheckBench; its JMH, OpenBLAS, CLBlast and OpenCL dependencies are left behind (GpuCheckBench uses none).
mvn -B -q -DskipTests package dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$DEST/lib" \
    -DexcludeGroupIds=org.bytedeco,org.jocl,org.openjdk.jmh,net.sf.jopt-simple,org.apache.commons \
    -DexcludeArtifactIds=kiln-backend-opencl -pl backend-cuda,nn,backend-cpu,benchmarks -am
# No listed module depends on backend-cuda or benchmarks, so their own jars are copied by hand.
cp backend-cuda/target/kiln-backend-cuda-*[0-9T].jar benchmarks/target/kiln-benchmarks-*[0-9T].jar "$DEST/lib/"
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_CONSOLE_VERSION" \
    -DoutputDirectory="$DEST"
mv "$DEST/junit-platform-console-standalone-$JUNIT_CONSOLE_VERSION.jar" "$DEST/junit-console.jar"

# JCuda's natives jar carries four JNI libraries (26 MB unpacked); the backend loads only the driver's.
natives=$(ls "$DEST"/lib/jcuda-natives-*-linux-x86_64.jar)
work=$(mktemp -d)
(cd "$work" && "$JAVA_HOME/bin/jar" xf "$natives" && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* lib/libJCudaRuntime-* \
    && "$JAVA_HOME/bin/jar" --create --file "$natives" -C "$work" .)
rm -rf "$work"

echo "== test jars"
cp runtime-api/target/kiln-runtime-api-*-tests.jar "$DEST/tests/"
for m in nn backend-cuda; do
  "$JAVA_HOME/bin/jar" --create --file "$DEST/tests/kiln-$m-tests.jar" -C "$m/target/test-classes" .
done

echo "== Java runtime (jlink)"
# jdeps names what the jars need; the fixed list adds what is loaded by service or reflection (jdk.zipfs: the JUnit
# launcher scans packages inside jars through the zip file system). java.xml (4 MB, for the launcher's XML reports)
# is left out: the carry limit counts the repository's own files too, and the console log names every failure.
needed=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 \
    --class-path "$DEST/lib/*:$DEST/tests/*" "$DEST"/lib/kiln-*.jar "$DEST"/tests/*.jar 2>/dev/null || true)
# java.desktop (about 19 MB, which the 64 MiB carry cannot hold) is left out: only nn's ImageGrid (PNG writing through
# javax.imageio) needs it, and run.sh leaves out the two nn test classes that reach it (ImageGridTest, ZooTest).
modules=$(echo "java.base,jdk.incubator.vector,java.logging,java.management,jdk.unsupported,jdk.zipfs,$needed" | tr , "\n" | grep -v -e "^$" -e "^java.desktop$" | sort -u | paste -sd, -)
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-9 \
    --output "$DEST/jre"
echo "modules: $modules"

cp backend-cuda/gpu-check/run.sh backend-cuda/gpu-check/torch_reference.py "$DEST/"
git rev-parse HEAD > "$DEST/COMMIT"

echo "== contents"
du -sh "$DEST/jre" "$DEST/lib" "$DEST/tests" "$DEST/junit-console.jar"
# What travels to the GPU machine is this folder plus the repository's tracked and untracked, unignored files.
bytes=$(du -sb "$DEST" | cut -f1)
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "gpu-check/: $bytes bytes ($((bytes / 1024 / 1024)) MiB); with the working tree's $tree bytes: $(((bytes + tree) / 1024 / 1024)) MiB of the 64 MiB carry limit"
if [ $((bytes + tree)) -gt "$LIMIT_BYTES" ]; then echo "too large for the GPU machine's 64 MiB carry" >&2; exit 1; fi
