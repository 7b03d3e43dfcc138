#!/bin/busybox sh
# init.sh: /init of the kerneltest initramfs (busybox sh, PID 1).
#
# Loads every /mods/*.ko in name order and prints one machine-readable line per module on the
# serial console, then powers the guest off (reboot -f; qemu runs with -no-reboot):
#
#   RESULT <name> rc=<insmod exit status = errno> modtaint=<module taint flags or -> tainted=<kernel taint> err=<insmod message>
#   DMESG <name>: <each kernel message the load produced>
#
# framed by ORACLE-BEGIN / ORACLE-END, with the command line, sig_enforce, the boot-time
# certificate lines (BOOT) and the asymmetric keys of /proc/keys (KEY) first. The kernel's console
# log level is set to 1 so that kernel messages never interleave with these lines; they are read
# with dmesg -c instead. kerneltest parses this output (serial.go).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo 1 >/proc/sys/kernel/printk

echo "ORACLE-BEGIN"
echo "CMDLINE $(cat /proc/cmdline)"
echo "SIG_ENFORCE $(cat /sys/module/module/parameters/sig_enforce)"
dmesg | grep -E 'X\.509|[Cc]ert' | sed 's/^/BOOT /'
grep asymmetric /proc/keys | sed 's/^/KEY /'
dmesg -c >/dev/null

for m in /mods/*.ko; do
	n=${m##*/}
	n=${n%.ko}
	err=$(insmod "$m" 2>&1)
	rc=$?
	mt=-
	# The loaded module, whatever its name (kmodsig_hello for the variants, hello for the
	# committed vectors): the only /sys/module entry with an initstate file.
	loaded=
	if [ $rc -eq 0 ]; then
		for s in /sys/module/*/initstate; do
			[ -e "$s" ] && loaded=${s%/initstate} && loaded=${loaded##*/}
		done
		[ -n "$loaded" ] && mt=$(cat "/sys/module/$loaded/taint" 2>/dev/null)
	fi
	echo "RESULT $n rc=$rc modtaint=$mt tainted=$(cat /proc/sys/kernel/tainted) err=$(echo "$err" | tr '\n' ' ')"
	[ -n "$loaded" ] && rmmod "$loaded"
	dmesg -c | sed "s/^/DMESG $n: /"
done

echo "UPTIME $(cat /proc/uptime)"
echo "ORACLE-END"
reboot -f
