#!/usr/bin/env bash
# Time `/bin/true` through `sbx apply` against crun, runc and a floor of
# util-linux tools, in the same run, on the same busybox rootfs, with the
# same settings: mount, uts, ipc, pid, net and cgroup namespaces, a hostname,
# podman's 11 default capabilities, no_new_privs, nofile 1024, memory and
# pids limits in a cgroup of its own, runc's masked and read-only paths.
#
# Usage: bench/apply.sh [RUNS]      (as root; default 100 runs each)
# Needs: busybox-static, crun, runc, util-linux, jq, hyperfine (installed
# with apt-get when missing). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-100}
[ "$(id -u)" = 0 ] || { echo "bench/apply.sh: run as root" >&2; exit 1; }

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v crun >/dev/null || need+=(crun)
command -v runc >/dev/null || need+=(runc)
command -v jq >/dev/null || need+=(jq)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

target=${CARGO_TARGET_DIR:-target}
cargo build --release --bin sbx >&2
sbx="$(realpath "$target/release/sbx")"

work=$(mktemp -d /var/tmp/sbx-bench.XXXXXX)
cleanup() {
    for dir in "${floor_cgroups[@]:-}"; do rmdir "$dir" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The rootfs: static busybox, its applets, passwd and group.
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,run,root}
cp /bin/busybox "$root/bin/busybox"
for applet in sh true hostname; do ln -s busybox "$root/bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_NET_BIND_SERVICE","CAP_SETFCAP","CAP_SETGID","CAP_SETPCAP","CAP_SETUID","CAP_SYS_CHROOT"]'
memory=268435456
pids=64

# The OCI bundle: runc's default spec, adjusted to the same settings.
mkdir -p "$work/bundle"
(cd "$work/bundle" && runc spec)
jq --argjson caps "$caps" --argjson memory "$memory" --argjson pids "$pids" --arg root "$root" '
  .root.path = $root
  | .process.terminal = false
  | .process.args = ["/bin/true"]
  | .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
  | .hostname = "bench"
  | .linux.namespaces += [{type: "cgroup"}]
  | .linux.resources.memory = {limit: $memory, swap: $memory}
  | .linux.resources.pids = {limit: $pids}
' "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"
masked=$(jq -c '.linux.maskedPaths' "$work/bundle/config.json")
readonly_paths=$(jq -c '.linux.readonlyPaths' "$work/bundle/config.json")

# The same as an sbx plan.
cat >"$work/plan.json" <<EOF
{
  "version": 1,
  "name": "bench",
  "rootfs": {"type": "directory", "path": "$root"},
  "process": {
    "args": ["/bin/true"],
    "user": {"user": 0},
    "cwd": "/",
    "rlimits": [{"resource": "nofile", "soft": 1024, "hard": 1024}],
    "terminal": false,
    "stop_signal": "SIGTERM"
  },
  "hostname": "bench",
  "namespaces": ["mount", "uts", "ipc", "pid", "net", "cgroup"],
  "network": {"mode": "none"},
  "limits": {"memory_max": $memory, "memory_swap_max": 0, "pids_max": $pids},
  "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps, "inheritable": [], "ambient": []},
  "security": {"no_new_privileges": true, "readonly_paths": $readonly_paths, "masked_paths": $masked, "rootfs_readonly": true},
  "console": {"tty": 0}
}
EOF
"$sbx" apply "$work/plan.json" || { echo "sbx cannot run the bench plan" >&2; exit 1; }

# The floor: a cgroup made and removed with mkdir/echo/rmdir, then
# unshare + setpriv + chroot. Each controller's directory under this
# shell's own cgroup (v1), or the unified one (v2).
cgroup_dir() { # controller
    local line path
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        path=$(sed -n 's/^0:://p' /proc/self/cgroup)
        echo "/sys/fs/cgroup$path"
        return
    fi
    line=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup)
    echo "/sys/fs/cgroup/$1${line##*:}"
}
memory_dir=$(cgroup_dir memory)
pids_dir=$(cgroup_dir pids)
floor_cgroups=("$memory_dir/sbx-bench-floor" "$pids_dir/sbx-bench-floor")
bounding=$(jq -r 'map(ascii_downcase | sub("^cap_"; "+")) | join(",")' <<<"$caps")
cat >"$work/floor.sh" <<EOF
#!/bin/sh
set -e
m="$memory_dir/sbx-bench-floor"; p="$pids_dir/sbx-bench-floor"
mkdir -p "\$m" "\$p"
if [ -f "\$m/memory.max" ]; then echo $memory > "\$m/memory.max"; echo $pids > "\$p/pids.max";
else echo $memory > "\$m/memory.limit_in_bytes"; echo $pids > "\$p/pids.max"; fi
sh -c 'echo \$\$ > "\$1/cgroup.procs"; [ "\$1" = "\$2" ] || echo \$\$ > "\$2/cgroup.procs"; exec unshare --mount --uts --ipc --pid --net --cgroup --fork --propagation private setpriv --bounding-set=-all,$bounding --inh-caps=-all --no-new-privs chroot "$root" /bin/true' floor "\$m" "\$p"
rmdir "\$m"; [ "\$m" = "\$p" ] || rmdir "\$p"
EOF
chmod +x "$work/floor.sh"
"$work/floor.sh"

# crun 1.8 refuses a hybrid layout: run it where the unified mount is gone
# (KERNEL-NOTES.md), once for the whole series, so that the workaround
# costs nothing per run.
crun_cmd="crun run --bundle $work/bundle sbx-bench-crun"
runc_cmd="runc run --bundle $work/bundle sbx-bench-runc"
hybrid=false
grep -q ' /sys/fs/cgroup/unified ' /proc/self/mountinfo && hybrid=true

# One untimed run of each first, so that a failure shows its message.
$runc_cmd || { echo "runc cannot run the bench bundle" >&2; exit 1; }
if $hybrid; then
    unshare --mount --propagation private sh -c "umount /sys/fs/cgroup/unified && $crun_cmd"
else
    $crun_cmd
fi || { echo "crun cannot run the bench bundle" >&2; exit 1; }

results="$work/results.json"
script="hyperfine --warmup 5 --runs $runs -N --export-json $results \
  -n sbx '$sbx apply $work/plan.json' \
  -n crun '$crun_cmd' \
  -n runc '$runc_cmd' \
  -n floor '$work/floor.sh'"
if $hybrid; then
    unshare --mount --propagation private sh -c "umount /sys/fs/cgroup/unified && $script"
else
    sh -c "$script"
fi

echo
echo "mean, median (ms) and ratio of medians:"
jq -r '
  (.results | map({(.command): .median}) | add) as $m
  | .results[]
  | "\(.command)\t\(.mean * 1000 | . * 100 | round / 100)\t\(.median * 1000 | . * 100 | round / 100)\tsbx/this = \($m.sbx / .median | . * 100 | round / 100)"
' "$results"
