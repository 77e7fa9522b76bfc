#!/usr/bin/env bash
# spikecl quick start, for a Debian 12 machine (run as root, or with sudo).
#
#   ./quickstart.sh train     install dependencies, build, run the main job:
#                             train the mlp preset on Fashion-MNIST on the default device
#   ./quickstart.sh demo      install dependencies, build, drive a LIF layer with Poisson input
#   ./quickstart.sh test      install dependencies, build with -Werror, run every test
#   ./quickstart.sh deps      only install the Debian packages they need
#   ./quickstart.sh summary [DIR]
#                             count the tests of the last `meson test` in DIR
#                             (default: the build directory)
#
# The build directory is ./build (SPIKECL_BUILD_DIR overrides it). `test` ends
# with one line "N passed, N failed" and exits non-zero when a test failed or
# none ran. Criterion suites count their tests; any other meson test (the
# install test) counts as one.
set -euo pipefail
cd "$(dirname "$0")"

BUILD=${SPIKECL_BUILD_DIR:-build}

# Everything the build, the tests and PoCL (OpenCL on the CPU) need.
PACKAGES=(
    gcc g++ libc6-dev pkg-config meson ninja-build python3 # toolchain (g++: one file reads CLBlast's C++ API); python3 embeds the kernels
    ocl-icd-opencl-dev opencl-headers                  # OpenCL ICD loader and headers
    pocl-opencl-icd                                    # an OpenCL device on any CPU
    libclblast-dev                                     # GEMM on every OpenCL device
    libopenblas-dev                                    # faster GEMM on CPU devices (host BLAS backend)
    zlib1g-dev                                         # disk cache of compiled kernels, gzip data files
    libdeflate-dev                                     # gzip data files read twice as fast
    libcriterion-dev                                   # test framework
    dataset-fashion-mnist                              # data of `spikecl train`
)

say() { printf '==> %s\n' "$*"; }
die() {
    printf 'quickstart: %s\n' "$*" >&2
    exit 1
}

install_deps() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "dependencies already installed"
        return
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "installing ${missing[*]} needs root: run as root or install sudo"
        sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure [meson options...]: set up $BUILD, or apply the options to the existing one.
configure() {
    if [ -f "$BUILD/meson-private/coredata.dat" ]; then
        [ $# -eq 0 ] || meson configure "$BUILD" "$@"
    else
        meson setup "$BUILD" "$@"
    fi
}

# summary DIR: "N passed, N failed" from DIR/meson-logs/testlog.json; exit 1 when
# a test failed or none ran. A Criterion executable contributes the counts of
# its "Synthesis" line (Failing includes Crashing), except that a test whose
# process died after it passed (a sanitizer report at exit, for which
# Criterion only warns "crashed during its setup or teardown") counts as
# failed, and one failure is added when meson saw the executable fail while
# Criterion counted none (a timeout, a crash of the runner itself). Any other
# meson test counts as one.
summary() {
    local dir=${1:-$BUILD}
    python3 - "$dir/meson-logs/testlog.json" <<'EOF'
import json, re, sys

path = sys.argv[1]
try:
    runs = [json.loads(line) for line in open(path) if line.strip()]
except OSError as e:
    runs = []
    print(f"no test log: {e}")
ansi = re.compile(r"\x1b\[[0-9;]*m")
synthesis = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
failed_test = re.compile(r"\[FAIL\] (\S+):(?:\s|$)", re.M)
died_late = re.compile(r"The test `([^`]+)` crashed during its setup or teardown")
total_p = total_f = 0
for r in runs:
    out = ansi.sub("", (r.get("stdout") or "") + (r.get("stderr") or ""))
    result = r.get("result", "?")
    ok = result in ("OK", "EXPECTEDFAIL")
    found = synthesis.findall(out)
    if found:
        tested, p, _, _ = map(int, found[-1])
        f = tested - p  # Failing, which already includes Crashing
        late = set(died_late.findall(out)) - set(failed_test.findall(out))
        k = min(len(late), p)
        p, f = p - k, f + k
        if not ok and f == 0:
            f = 1
    elif result == "SKIP":
        p = f = 0
    else:
        p, f = (1, 0) if ok else (0, 1)
    note = "" if ok or result == "SKIP" else f" (meson: {result})"
    print(f"  {r.get('name', '?')}: passed {p}, failed {f}{note}")
    total_p += p
    total_f += f
print(f"{total_p} passed, {total_f} failed")
sys.exit(0 if total_f == 0 and total_p > 0 else 1)
EOF
}

# Install, configure and build, then list the devices.
build_and_list_devices() {
    install_deps
    configure
    say "building in $BUILD"
    meson compile -C "$BUILD"
    say "OpenCL devices"
    "./$BUILD/src/spikecl" devices
}

run_demo() {
    build_and_list_devices
    say "demo: a LIF layer driven by Poisson input"
    "./$BUILD/src/spikecl" demo
}

run_train() {
    build_and_list_devices
    say "main job: spiking MLP on Fashion-MNIST (surrogate-gradient BPTT)"
    "./$BUILD/src/spikecl" train --preset mlp --out "$BUILD/fmnist-mlp.ckpt"
}

run_test() {
    install_deps
    configure -Dwerror=true -Dtests=true
    say "building in $BUILD with warnings as errors"
    meson compile -C "$BUILD"
    say "running the test suites"
    rm -f "$BUILD/meson-logs/testlog.json"
    local rc=0
    meson test -C "$BUILD" --print-errorlogs || rc=$?
    say "test counts"
    summary "$BUILD" || rc=1
    return $rc
}

case "${1:-}" in
train) run_train ;;
demo) run_demo ;;
test) run_test ;;
deps) install_deps ;;
summary) summary "${2:-$BUILD}" ;;
*)
    sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac
