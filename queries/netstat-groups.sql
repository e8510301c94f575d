-- name: netstat-groups
-- description: multicast group memberships exactly as netstat -g prints them
-- netstat: netstat -g [-n] [-A inet|inet6]
-- format: raw
-- param: inet=1 show IPv4 groups (/proc/net/igmp)
-- param: inet6=1 show IPv6 groups (/proc/net/igmp6)
-- param: numeric=0 1 to print group addresses without reverse lookup (-n)

SELECT 'IPv6/IPv4 Group Memberships';
SELECT 'Interface       RefCnt Group';
SELECT '--------------- ------ ---------------------';

SELECT printf('%-15s %-6d %s', interface, refcnt,
        netstat_host("group", :numeric))
FROM multicast_groups
WHERE family IN (iif(:inet, 'inet', NULL), iif(:inet6, 'inet6', NULL))
ORDER BY family, rowid;
