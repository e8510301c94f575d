#!/bin/sh
# Builds the namespace this fixture was captured from and copies what
# netsql --proc reads of it (proc/net, sys/class/net) under this directory,
# with what ip and netstat showed for the same state. Run as root:
#   sh capture.sh
set -eu
cd "$(dirname "$0")"
N=netsql-capture-$$
ip netns add $N
trap 'ip netns del $N' EXIT
for c in \
	"link set lo up" \
	"addr add 127.0.0.2/8 dev lo" \
	"link add eth0 type veth peer name veth1" \
	"link set veth1 up" "link set eth0 up" \
	"addr add 192.0.2.2/24 brd + dev eth0" \
	"addr add 192.0.2.3/24 dev eth0" \
	"addr add 198.18.0.1/16 dev eth0" \
	"route add local 198.51.100.7 dev eth0 table main" \
	"link add br0 type bridge" "link set veth1 master br0" "link set br0 up" \
	"link add mv0 link eth0 type macvlan" "link set mv0 up" \
	"addr add 10.4.0.1/24 brd 10.4.0.127 dev mv0" \
	"link add p2p0 type veth peer name p2p1" "link set p2p0 up" "link set p2p1 up" \
	"addr add 10.1.1.1 peer 10.1.1.2/32 dev p2p0" \
	"addr add 10.3.3.1 peer 10.3.0.0/16 dev p2p0" \
	"link add dn0 type veth peer name dn1" \
	"addr add 10.2.0.1/24 dev dn0" \
	"link add pr0 type veth peer name pr1" "link set pr0 promisc on" "link set pr0 up"; do
	ip -n $N $c
done
sleep 1
rm -rf proc sys
mkdir -p proc/net sys/class/net
for f in fib_trie route dev if_inet6; do
	ip netns exec $N cat /proc/net/$f >proc/net/$f
done
ip netns exec $N sh -c '
for d in /sys/class/net/*; do
	n=${d##*/}
	mkdir -p sys/class/net/$n
	for a in ifindex mtu tx_queue_len operstate flags type address; do
		cat $d/$a >sys/class/net/$n/$a 2>/dev/null || true
	done
	[ -d $d/brport ] && mkdir sys/class/net/$n/brport
	for l in $d/master $d/upper_*; do
		[ -L $l ] && ln -s "$(readlink $l)" sys/class/net/$n/${l##*/}
	done
done
true'
ip -n $N -4 addr >ip-4-addr.txt
ip netns exec $N netstat -i >netstat-i.txt
