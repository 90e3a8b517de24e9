#!/usr/bin/env bash
# The GPU check. Runs on a machine with an NVIDIA GPU, its driver and python3 with PyTorch (whose nvidia/*/lib
# folders hold cuBLAS, cuDNN and NVRTC), and needs no JDK, Maven or network: it uses the folder prepare.sh made
# (gpu-check/ at the repository root, or this script's own folder when it is the copy inside it). Every step has a
# time limit and the whole stays under 8 minutes. Writes report.md and the logs under $OUT (default gpu-check/out).
#
# Steps: the device probe (stops here, exit 2, when CUDA is unavailable, with the probe's reason); the conformance
# kit with the ONNX node suite and backend-cuda's tests on `cuda` (in kiln.cuda.debug mode, so a failing kernel is
# named); the nn tests with `cuda` as the default device;
# the CUDA benchmark rows (GpuCheckBench) and PyTorch's figures for the same rows on the same GPU.
#
# KILN_GPU_CHECK_DEVICE (default cuda) runs the same steps on another device, to try the script where there is no GPU.
set -uo pipefail
DEVICE="${KILN_GPU_CHECK_DEVICE:-cuda}"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$HERE/jre/bin/java" ]; then DIR="$HERE"; else DIR="$(cd "$HERE/../.." && pwd)/gpu-check"; fi
JAVA="$DIR/jre/bin/java"
if [ ! -x "$JAVA" ]; then
  echo "gpu-check: no prepared folder at $DIR; run backend-cuda/gpu-check/prepare.sh on a build machine and carry gpu-check/" >&2
  exit 1
fi
OUT="${OUT:-$DIR/out}"
mkdir -p "$OUT"
REPORT="$OUT/report.md"
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m
       -Dkiln.cuda.cache="${TMPDIR:-/tmp}/kiln-cuda-kernels")
CP="$(ls "$DIR"/lib/*.jar | tr '\n' ':')"
TESTS="$(ls "$DIR"/tests/*.jar | tr '\n' ':')"
PY="$(command -v python3 || true)"

{
  echo "# Kiln GPU check"
  echo
  echo "- commit: $(cat "$DIR/COMMIT" 2>/dev/null || echo unknown), run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not available')"
} > "$REPORT"

step() { # name, seconds, command...: runs with a time limit, logs to $OUT/<name>.log, notes a timeout in the report
  local name=$1 limit=$2; shift 2
  echo "== $name (at most ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "- $name: **timed out after ${limit}s** (log: $name.log)" >> "$REPORT"; fi
  return $rc
}

step probe 45 "$JAVA" "${FLAGS[@]}" -cp "$CP" dev.kiln.bench.GpuCheckBench "$DEVICE" --probe
probe_rc=$?
{ echo; echo '## Device probe'; echo; echo '```'; cat "$OUT/probe.log"; echo '```'; } >> "$REPORT"
if [ $probe_rc -eq 2 ]; then
  reason=$(grep -E '^cuda' "$OUT/probe.log" | head -1 | sed -E 's/^cuda[^ ]* +rejected +- +//')
  { echo; echo "CUDA is unavailable here, nothing was run on a GPU: ${reason:-see the probe above}"; } >> "$REPORT"
  echo "gpu-check: CUDA unavailable: ${reason:-see $OUT/probe.log}"
  exit 2
elif [ $probe_rc -ne 0 ]; then
  { echo; echo "The probe itself failed (exit $probe_rc); see probe.log."; } >> "$REPORT"
  echo "gpu-check: the probe failed (exit $probe_rc), see $OUT/probe.log" >&2
  exit 1
fi

summary() { # the JUnit console's counts from a log, as one line
  grep -E '\[ +[0-9]+ (tests (found|successful|failed|skipped|aborted))' "$OUT/$1.log" | sed -E 's/^.*\[ +([0-9]+) (tests [a-z]+) +\].*$/\1 \2/' | paste -sd, -
}

step kit 190 "$JAVA" "${FLAGS[@]}" -Dkiln.test.devices="$DEVICE" -Dkiln.cuda.debug=true -jar "$DIR/junit-console.jar" execute --disable-banner \
    --details=summary --class-path "$CP$TESTS" --select-package dev.kiln.testkit --select-package dev.kiln.cuda
step nn 75 "$JAVA" "${FLAGS[@]}" -Dkiln.device="$DEVICE" -jar "$DIR/junit-console.jar" execute --disable-banner \
    --details=summary --class-path "$CP$TESTS" --select-package dev.kiln.nn \
    --exclude-classname '.*\.(ImageGridTest|ZooTest)$'
{
  echo; echo "## Tests on $DEVICE"; echo
  echo "- conformance kit + ONNX node suite + backend-cuda tests: $(summary kit)"
  echo "- nn tests (default device $DEVICE): $(summary nn); not run here: ImageGridTest and ZooTest (they write PNGs through java.desktop, which the carried runtime leaves out)"
  echo "- failures: listed with their messages in kit.log / nn.log"
} >> "$REPORT"

step bench-kiln 95 "$JAVA" "${FLAGS[@]}" -cp "$CP" dev.kiln.bench.GpuCheckBench "$DEVICE"
if [ -n "$PY" ]; then step bench-torch 65 "$PY" "$DIR/torch_reference.py"; else echo "no python3" > "$OUT/bench-torch.log"; fi
{
  echo; echo '## Benchmarks (median ms; ratio = PyTorch ms / Kiln ms, above 1 means Kiln is faster)'; echo
  grep -h '^#' "$OUT/bench-kiln.log" "$OUT/bench-torch.log" | sed 's/^# /- /'
  echo; echo '| row | Kiln ms | Kiln rate | PyTorch ms | PyTorch rate | ratio |'; echo '|---|---|---|---|---|---|'
  python3 - "$OUT/bench-kiln.log" "$OUT/bench-torch.log" <<'PYEOF'
import re, sys
def rows(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.match(r"bench name=(\S+) (.*)", line.strip())
        if not m: continue
        rest = m.group(2)
        out[m.group(1)] = ({"failed": "failed: " + rest.split("failed=", 1)[1].replace("|", "/")} if rest.startswith("failed=")
                           else dict(kv.split("=", 1) for kv in rest.split(" ") if "=" in kv))
    return out
kiln, torch = rows(sys.argv[1]), rows(sys.argv[2])
for name in list(kiln) + [n for n in torch if n not in kiln]:
    k, t = kiln.get(name, {}), torch.get(name, {})
    ratio = f"{float(t['ms']) / float(k['ms']):.2f}" if "ms" in k and "ms" in t else "-"
    print(f"| {name} | {k.get('ms', k.get('failed', '-'))} | {k.get('rate', '-')} | {t.get('ms', t.get('failed', '-'))} | {t.get('rate', '-')} | {ratio} |")
PYEOF
} >> "$REPORT"
echo "gpu-check: report in $REPORT"
cat "$REPORT"
