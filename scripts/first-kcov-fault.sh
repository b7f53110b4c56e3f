#!/usr/bin/env bash
# Boots a built CONFIG_KCOV_SELFTEST kernel under QEMU's gdbstub and stops at
# the first page fault raised by KCOV's coverage callback (the selftest's
# NULL buffer), then prints the words of the faulting context's stack that
# gdb can name: the instrumented caller first, then the path that reached
# it. On the lean kernels the console shows no call trace for this crash
# (the fault handler's own instrumented code faults again until the stack
# overflows); this recovers the trace patch 01's message shows. Words are
# read off the stack like the "guess" unwinder does, so stale ones appear
# too (read the chain from the caller down to kcov_init).
#
# usage: scripts/first-kcov-fault.sh KERNEL_KEY [VCPUS] [GDB_PORT]
#   KERNEL_KEY: a directory under $KCOVLAB_CACHE/kernels (kcovlab kernels)
# needs: qemu-system-x86_64, gdb; the kcovlab image in the cache.
set -euo pipefail

key=${1:?usage: $0 KERNEL_KEY [VCPUS] [GDB_PORT]}
cpus=${2:-2}
port=${3:-$((20000 + RANDOM % 20000))}
cache=${KCOVLAB_CACHE:-$HOME/.cache/kcovlab}
kdir=$cache/kernels/$key
initrd=$(ls -t "$cache"/images/*/initramfs.cpio | head -1)
work=$(mktemp -d)
trap 'kill "$qpid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

qemu-system-x86_64 -nodefaults -no-reboot -display none -machine q35 -accel tcg -cpu max \
	-smp "$cpus" -m 1024M -kernel "$kdir/bzImage" -initrd "$initrd" \
	-append 'console=ttyS0 panic=-1 oops=panic' \
	-chardev file,id=con,path="$work/console" -serial chardev:con \
	-device virtio-rng-pci -gdb "tcp:127.0.0.1:$port" -S &
qpid=$!

# exc_page_fault(regs, error_code): regs->ip at +128, regs->sp at +152.
cat >"$work/cmds" <<G
set pagination off
set confirm off
target remote 127.0.0.1:$port
break exc_page_fault
commands
  silent
  if *(unsigned long*)(\$rdi+128) > (unsigned long)&__sanitizer_cov_trace_pc_guard && *(unsigned long*)(\$rdi+128) < (unsigned long)&__sanitizer_cov_trace_pc_guard + 0xd0
    printf "first KCOV fault: ip=%#lx sp=%#lx\n", *(unsigned long*)(\$rdi+128), *(unsigned long*)(\$rdi+152)
    x/200a *(unsigned long*)(\$rdi+152)
    kill
    quit
  end
  continue
end
continue
G
timeout 300 gdb -q -batch -x "$work/cmds" "$kdir/vmlinux" >"$work/out" 2>&1 || true
if ! grep -q "first KCOV fault" "$work/out"; then
	echo "no KCOV fault: the selftest passed on this boot" >&2
	grep -a "kcov:" "$work/console" >&2 || true
	exit 1
fi
grep "first KCOV fault" "$work/out"
# The named text words, in stack order, without per-CPU data and stacks.
grep -o '<[A-Za-z_][A-Za-z0-9_.]*+[0-9]*>' "$work/out" |
	grep -v -e fixed_percpu_data -e exception_stacks -e cpu_tss_rw -e '<up+' |
	tr -d '<>' | tr '\n' ' '
echo
