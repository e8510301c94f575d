-- name: netstat-route6
-- description: the IPv6 routing tables exactly as netstat -r -A inet6 prints them
-- netstat: netstat -r -A inet6 [-n]
-- format: raw
-- param: numeric=0 1 to print addresses without name lookups (-n)
-- param: extend=2 accepted for symmetry with netstat-route; the IPv6 layout has one form
--
-- netstat reads /proc/net/ipv6_route: every table, the kernel's reject
-- entry (::/0 !n lo) included; ipv6_route_lines is that file line by
-- line, live as with --proc. Met is printed signed (4294967295 is -1).

SELECT 'Kernel IPv6 routing table';
SELECT 'Destination                    Next Hop                   Flag Met Ref  Use If';

SELECT printf('%-30s %-26s %-4s %-3d %-1d %6d %s',
        netstat_host(destination, :numeric) || '/' || prefix_len,
        netstat_host(ifnull(gateway, '::'), :numeric),
        flags,
        iif(metric > 2147483647, metric - 4294967296, metric),
        refcnt, use, ifnull(interface, ''))
FROM ipv6_route_lines
ORDER BY rowid;
