#!/bin/sh
# /init of the throw-away initramfs built by record-pciehp.mjs (busybox-static only).
# Never committed as a binary: the recorder builds the initramfs into a temp dir.
#
# Output: every marker is written to /dev/kmsg, so it reaches the serial console
# (ttyS0) with the kernel's own timestamp, interleaved with the kernel's messages.
# Input: line commands from the host on ttyS1 (echo off):
#   dump TAG   -> @@PB DUMP-BEGIN TAG, DEV/CFG/SLOT lines, @@PB DUMP-END TAG
#   sync TAG   -> @@PB SYNC TAG   (guest-clock / host-clock correlation)
#   quit       -> poweroff -f
# A background watcher reports PCI device-list and e1000e binding changes
# (@@PB PCI+ / PCI- / BOUND / UNBOUND), polled every 100 ms.
export PATH=/bin
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

K() { echo "$*" > /dev/kmsg; }

K "@@PB INIT uname=$(uname -r)"
for m in $(cat /lib/modules/load.list 2>/dev/null); do
  insmod "/lib/modules/$m"
  K "@@PB INSMOD $m rc=$?"
done

dump() {
  tag="$1"
  K "@@PB DUMP-BEGIN $tag"
  for d in /sys/bus/pci/devices/*; do
    b="${d##*/}"
    read -r ven < "$d/vendor"; read -r dev < "$d/device"; read -r cls < "$d/class"
    drv=-
    [ -e "$d/driver" ] && drv="$(basename "$(readlink "$d/driver")")"
    K "@@PB DEV $b $ven:$dev $cls $drv"
    case "$cls" in
      0x0604*) want=1 ;;
      *) case "$b" in 0000:00:*) want=0 ;; *) want=1 ;; esac ;;
    esac
    if [ "$want" = 1 ]; then
      K "@@PB CFG $b $(od -An -v -tx1 -N256 "$d/config" | tr -d ' \n')"
    fi
  done
  for s in /sys/bus/pci/slots/*; do
    [ -d "$s" ] || continue
    a=-; p=-; ad=-; at=-
    [ -r "$s/address" ] && read -r a < "$s/address"
    [ -r "$s/power" ] && read -r p < "$s/power"
    [ -r "$s/adapter" ] && read -r ad < "$s/adapter"
    [ -r "$s/attention" ] && read -r at < "$s/attention"
    K "@@PB SLOT ${s##*/} address=$a power=$p adapter=$ad attention=$at"
  done
  K "@@PB DUMP-END $tag"
}

watch() {
  prev_devs="$(echo /sys/bus/pci/devices/*)"
  prev_bound="$(echo /sys/bus/pci/drivers/e1000e/0000:*)"
  while :; do
    devs="$(echo /sys/bus/pci/devices/*)"
    if [ "$devs" != "$prev_devs" ]; then
      for d in $devs; do case " $prev_devs " in *" $d "*) ;; *) K "@@PB PCI+ ${d##*/}" ;; esac; done
      for d in $prev_devs; do case " $devs " in *" $d "*) ;; *) K "@@PB PCI- ${d##*/}" ;; esac; done
      prev_devs="$devs"
    fi
    bound="$(echo /sys/bus/pci/drivers/e1000e/0000:*)"
    if [ "$bound" != "$prev_bound" ]; then
      for d in $bound; do [ -e "$d" ] || continue; case " $prev_bound " in *" $d "*) ;; *) K "@@PB BOUND ${d##*/} e1000e" ;; esac; done
      for d in $prev_bound; do case "$d" in *'*'*) continue ;; esac; case " $bound " in *" $d "*) ;; *) K "@@PB UNBOUND ${d##*/} e1000e" ;; esac; done
      prev_bound="$bound"
    fi
    sleep 0.1
  done
}

watch &

exec 3< /dev/ttyS1
stty -echo -icrnl -onlcr icanon < /dev/ttyS1
K "@@PB READY"
while :; do
  if read -r cmd arg <&3; then
    case "$cmd" in
      dump) dump "$arg" ;;
      sync) K "@@PB SYNC $arg" ;;
      quit) K "@@PB QUIT"; poweroff -f ;;
      "") ;;
      *) K "@@PB UNKNOWN $cmd" ;;
    esac
  else
    sleep 0.2
  fi
done
