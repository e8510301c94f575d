-- name: netstat-interfaces-long
-- description: the interface table in ifconfig's long form, exactly as netstat -ie prints it
-- netstat: netstat -ie [-a] [-c]
-- format: raw
-- param: all=0 list interfaces that are down too (-a)
-- param: iteration=0 which pass of -c this is: the title prints on the first only
--
-- One block per interface, in netstat's order (eth2 before eth10), only
-- those that are up unless -a. A block is the name with flags=N<WORDS> and
-- the MTU; the primary IPv4 address (the first whose label is the
-- interface's name) with netmask, broadcast when the interface broadcasts,
-- destination on point-to-point links; every IPv6 address in
-- /proc/net/if_inet6's order with the kernel's scope bits (0x20 link,
-- 0x10 host, 0x40 site, 0x0 global); the hardware line; the counters; a
-- blank line. Not shown: alias interfaces (eth0:1, which netstat lists on
-- their own), the "device interrupt/memory" line of hardware NICs, CSLIP's
-- compressed counters.

SELECT 'Kernel Interface table' WHERE :iteration = 0;

WITH i AS (
  SELECT * FROM interfaces WHERE up OR :all
),
-- IPv4 rows are those with a netmask (a filter on family would make a
-- /proc tree without IPv4 addresses an error rather than a notice).
inet AS (
  SELECT a.* FROM addresses a WHERE a.netmask IS NOT NULL
    AND ifnull(a.label, a.interface) = a.interface
    AND a.rowid = (SELECT min(b.rowid) FROM addresses b
                   WHERE b.netmask IS NOT NULL AND b.interface = a.interface
                     AND ifnull(b.label, b.interface) = b.interface)
),
inet6 AS (
  SELECT rowid AS n, interface, address, prefix_len,
         CASE scope WHEN 'link' THEN 32 WHEN 'host' THEN 16 WHEN 'site' THEN 64 ELSE 0 END AS scope_bits
  FROM addresses WHERE family = 'inet6'
),
words(bit, word) AS (VALUES
  (1, 'UP'), (2, 'BROADCAST'), (4, 'DEBUG'), (8, 'LOOPBACK'), (16, 'POINTOPOINT'),
  (32, 'NOTRAILERS'), (64, 'RUNNING'), (128, 'NOARP'), (256, 'PROMISC'),
  (512, 'ALLMULTI'), (1024, 'SLAVE'), (2048, 'MASTER'), (4096, 'MULTICAST'),
  (32768, 'DYNAMIC')
),
flagtext AS (
  SELECT name, flags_value,
         (SELECT group_concat(word, ',') FROM (SELECT word FROM words WHERE i.flags_value & bit ORDER BY bit)) AS w
  FROM i
),
lines(name, part, n, text) AS (
  SELECT i.name, 0, 0, printf('%s: %s  mtu %d', i.name,
           CASE WHEN f.w IS NOT NULL THEN printf('flags=%d<%s>', i.flags_value, f.w)
                WHEN i.flags_value = 0 THEN 'flags=0<'
                ELSE printf('flags=%d', i.flags_value) END,
           i.mtu)
  FROM i JOIN flagtext f ON f.name = i.name
  UNION ALL
  SELECT i.name, 1, 0, printf('        inet %s  netmask %s', a.address, a.netmask)
           || iif(i.flags_value & 2, '  broadcast ' || ifnull(a.broadcast, '0.0.0.0'), '')
           || iif(i.flags_value & 16, '  destination ' || ifnull(a.peer, a.address), '')
  FROM i JOIN inet a ON a.interface = i.name
  UNION ALL
  SELECT i.name, 2, a.n, printf('        inet6 %s  prefixlen %d  scopeid 0x%x<%s>',
           a.address, a.prefix_len, a.scope_bits,
           CASE a.scope_bits WHEN 32 THEN 'link' WHEN 16 THEN 'host' WHEN 64 THEN 'site' ELSE 'global' END)
  FROM i JOIN inet6 a ON a.interface = i.name
  UNION ALL
  SELECT name, 3, 0, '        ' || netstat_hw(type, mac)
           || ifnull('  txqueuelen ' || tx_queue_len, '')
           || '  (' || netstat_hw_title(type) || ')' FROM i
  UNION ALL
  SELECT name, 4, 0, printf('        RX packets %d  bytes %d (%s)', rx_packets, rx_bytes, netstat_bytes(rx_bytes)) FROM i
  UNION ALL
  SELECT name, 5, 0, printf('        RX errors %d  dropped %d  overruns %d  frame %d', rx_errors, rx_dropped, rx_over, rx_frame) FROM i
  UNION ALL
  SELECT name, 6, 0, printf('        TX packets %d  bytes %d (%s)', tx_packets, tx_bytes, netstat_bytes(tx_bytes)) FROM i
  UNION ALL
  SELECT name, 7, 0, printf('        TX errors %d  dropped %d overruns %d  carrier %d  collisions %d', tx_errors, tx_dropped, tx_over, tx_carrier, tx_collisions) FROM i
  UNION ALL
  SELECT name, 8, 0, '' FROM i
)
SELECT text FROM lines ORDER BY name COLLATE netstat_if, part, n;
