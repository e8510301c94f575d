-- name: netstat-route
-- description: the IPv4 main routing table exactly as netstat -r prints it
-- netstat: netstat -r [-n] [-e|-ee]
-- format: raw
-- param: numeric=0 1 to print addresses without name lookups (-n)
-- param: extend=2 layout: 2 MSS/Window/irtt (-r), 1 Metric/Ref/Use (-re), 3 both (-ree)
--
-- netstat reads /proc/net/route: the main table (254), routes that are up.
-- A reject route (flag !) has no gateway or interface: netstat prints "-".
-- A multipath route (nexthop via ... nexthop via ..., or a nexthop-object
-- group) is one line there, with its first next hop (hop 0).

SELECT 'Kernel IP routing table';

SELECT 'Destination     Gateway         Genmask         ' || CASE :extend
    WHEN 1 THEN 'Flags Metric Ref    Use Iface'
    WHEN 2 THEN 'Flags   MSS Window  irtt Iface'
    ELSE 'Flags Metric Ref    Use Iface    MSS   Window irtt'
END;

WITH r AS (
    SELECT rowid AS n, flags, metric, ifnull(refcnt, 0) AS ref, ifnull(use, 0) AS use,
        ifnull(interface, '*') AS iface, netmask,
        -- the MSS column is /proc/net/route's MTU field: advmss + 40 when set
        iif(advmss > 0, advmss + 40, 0) AS mss, ifnull(window, 0) AS window, ifnull(irtt, 0) AS irtt,
        substr(netstat_route_host(destination, netmask, :numeric, instr(flags, 'H')), 1, 15) AS dest,
        -- an IPv6 gateway (via inet6) is 0.0.0.0 in /proc/net/route
        substr(coalesce(netstat_route_host(gateway, '255.255.255.0', :numeric, 1),
            netstat_route_host('0.0.0.0', '255.255.255.0', :numeric, 1)), 1, 15) AS gw,
        instr(flags, '!') > 0 AS reject
    FROM routes
    WHERE family = 'inet' AND table_id = 254 AND instr(flags, 'U') + instr(flags, '!') > 0
        AND ifnull(hop, 0) = 0
)
SELECT CASE :extend
    WHEN 1 THEN iif(reject,
        printf('%-15s -               %-15s %-5s %-6d -  %7d -', dest, netmask, flags, metric, use),
        printf('%-15s %-15s %-15s %-5s %-6d %-2d %7d %s', dest, gw, netmask, flags, metric, ref, use, iface))
    WHEN 2 THEN iif(reject,
        printf('%-15s -               %-15s %-5s     - -          - -', dest, netmask, flags),
        printf('%-15s %-15s %-15s %-5s %5d %-5d %6d %s', dest, gw, netmask, flags, mss, window, irtt, iface))
    ELSE iif(reject,
        printf('%-15s -               %-15s %-5s %-6d -  %7d -        -     -      -', dest, netmask, flags, metric, use),
        printf('%-15s %-15s %-15s %-5s %-6d %-3d %6d %-6.6s   %-5d %-6d %d', dest, gw, netmask, flags, metric, ref, use, iface, mss, window, irtt))
END
FROM r
ORDER BY n;
