-- name: netstat-masquerade
-- description: netstat -M's masquerading table, built from conntrack's source-NATed IPv4 TCP and UDP flows (an extension: not byte-for-byte)
-- netstat: netstat -M [-n] [--numeric-hosts] [--numeric-ports]
-- format: raw
-- param: numeric=0 1 for no names at all (-n); or words: hosts ports (--numeric-hosts, --numeric-ports)
--
-- net-tools read /proc/net/ip_masquerade, which Linux 2.4 replaced with
-- netfilter conntrack; netstat 2.10 only says "no support for
-- `ip_masquerade'". This prints net-tools' header and columns from the
-- flows whose source was translated (SNAT or masquerade): prot, the time
-- left as minutes:seconds.hundredths, the original source and
-- destination, and "sport -> dport (masqueraded port)". Like net-tools it
-- prints nothing at all when there is no entry.

WITH m AS (
    SELECT protocol, timeout, src, dst, sport, dport, reply_dport AS mport
    FROM conntrack
    WHERE family = 'inet' AND snat = 1 AND protocol IN ('tcp', 'udp')
),
port AS (SELECT :numeric = 1 OR instr(:numeric, 'ports') > 0 AS numeric)
SELECT line FROM (
    SELECT 0 AS k, NULL AS a, NULL AS b, 'IP masquerading entries' AS line
    WHERE EXISTS (SELECT 1 FROM m)
    UNION ALL
    SELECT 1, NULL, NULL, 'prot   expire source               destination          ports'
    WHERE EXISTS (SELECT 1 FROM m)
    UNION ALL
    SELECT 2, src, sport, printf('%-4s%3d:%02d.%02d %-20s %-20s %s -> %s (%s)',
        protocol, timeout / 60, timeout % 60, 0,
        netstat_host(src, :numeric), netstat_host(dst, :numeric),
        iif(port.numeric, sport, service_name(sport, protocol)),
        iif(port.numeric, dport, service_name(dport, protocol)),
        iif(port.numeric, mport, service_name(mport, protocol)))
    FROM m, port
)
ORDER BY k, a, b;
