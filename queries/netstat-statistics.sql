-- name: netstat-statistics
-- description: protocol statistics exactly as netstat -s prints them
-- netstat: netstat -s [-6] [-t] [-u] [-w]
-- format: raw
-- param: family=inet inet for net/snmp and net/netstat (-s); inet6 for net/snmp6 and then the Tcp section of net/snmp (-s -6)
-- param: tcp=1 print the sections -t selects (Tcp, TcpExt)
-- param: udp=1 print the sections -u selects (Udp, Udp6)
-- param: raw=1 print the sections -w selects (Ip, Icmp, Ip6, Icmp6)
--
-- netstat walks the counters in the kernel's order and prints each with
-- its own sentence (netstat_stat_text), indented by what it printed last:
-- counters under an ICMP histogram heading are indented 8, and so is any
-- counter netstat does not know that follows one, until a section netstat
-- knows starts again. netstat_stat_kind says how a counter prints: number
-- always, opt and unknown ones (NULL) only when not zero, in_icmp/out_icmp
-- under their heading when above zero, silent never. Sections netstat does
-- not know (IcmpMsg, UdpLite, IpExt, MPTcpExt, UdpLite6) print whatever
-- -t/-u/-w say.

WITH c AS (
  SELECT row_number() OVER (ORDER BY :family = 'inet6' AND protocol = 'Tcp', rowid) AS seq,
         protocol, name, value,
         netstat_stat_section(protocol) AS section,
         netstat_stat_kind(protocol, name) AS kind
  FROM protocol_stats
  WHERE iif(:family = 'inet6', protocol LIKE '%6' OR protocol = 'Tcp', protocol NOT LIKE '%6')
),
s AS (
  SELECT *,
         seq = min(seq) OVER (PARTITION BY protocol) AS first,
         CASE section WHEN 'raw' THEN :raw WHEN 'tcp' THEN :tcp WHEN 'udp' THEN :udp
                      WHEN 'sctp' THEN 0 ELSE 1 END AS shown
  FROM c
),
-- The state a row leaves: the kind it printed as (number for number, opt
-- and forward), or number at the start of a section netstat knows.
m AS (
  SELECT *,
         CASE WHEN shown AND kind IN ('number', 'opt', 'forward') THEN 'number'
              WHEN shown AND kind IN ('in_icmp', 'out_icmp') THEN kind
              WHEN first AND section IS NOT NULL THEN 'number' END AS leaves,
         max(CASE WHEN shown AND kind IN ('number', 'opt', 'forward', 'in_icmp', 'out_icmp')
                    OR first AND section IS NOT NULL THEN seq END)
           OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev
  FROM s
),
-- The state a row finds.
st AS (
  SELECT m.*,
         CASE WHEN m.first AND m.section IS NOT NULL THEN 'number'
              ELSE ifnull((SELECT p.leaves FROM m p WHERE p.seq = m.prev), 'number') END AS state
  FROM m
),
lines(seq, part, text) AS (
  SELECT seq, 0, protocol || ':' FROM st WHERE first AND shown
  UNION ALL
  SELECT seq, 1, printf('%*s%s', iif(state = 'number', 4, 8), '',
                        iif(kind = 'in_icmp', 'ICMP input histogram:', 'ICMP output histogram:'))
  FROM st WHERE shown AND kind IN ('in_icmp', 'out_icmp') AND state <> kind
  UNION ALL
  SELECT seq, 2, printf('%*s%s',
                        CASE WHEN kind IS NULL THEN iif(state = 'number', 4, 8)
                             WHEN kind IN ('in_icmp', 'out_icmp') THEN 8 ELSE 4 END,
                        '', netstat_stat_text(protocol, name, value))
  FROM st
  WHERE shown AND (kind IN ('number', 'forward')
                   OR kind IN ('opt', 'in_icmp', 'out_icmp') AND value <> 0
                   OR kind IS NULL AND value <> 0)
)
SELECT text FROM lines ORDER BY seq, part;
