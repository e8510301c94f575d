-- name: netstat-inet
-- description: Internet connections (TCP, UDP, UDP-Lite, raw) exactly as netstat prints them
-- netstat: netstat [-t] [-u] [-U] [-w] [-a|-l] [-n] [-e] [-p] [-o] [-W] [-A inet|inet6]
-- format: raw
-- param: tcp=1 show TCP sockets (-t)
-- param: udp=1 show UDP sockets (-u)
-- param: udplite=1 show UDP-Lite sockets (-U)
-- param: raw=1 show raw sockets (-w)
-- param: inet=1 show IPv4 sockets (-4, -A inet)
-- param: inet6=1 show IPv6 sockets (-6, -A inet6)
-- param: all=0 show listening and connected sockets (-a)
-- param: listening=0 show only listening sockets (-l)
-- param: numeric=0 1 for no names at all (-n); or words: hosts ports users (--numeric-hosts ...)
-- param: wide=0 do not cut addresses to 23 columns (-W)
-- param: extend=0 add the User and Inode columns (-e)
-- param: programs=0 add the PID/Program name column (-p)
-- param: timers=0 add the Timer column (-o)
--
-- netstat reads /proc/net/{tcp,tcp6,udp,udp6,udplite,udplite6,raw,raw6} in that order and
-- prints each file in the kernel's order: the ORDER BY keeps that order.

SELECT 'Active Internet connections ' || CASE
    WHEN :all THEN '(servers and established)'
    WHEN :listening THEN '(only servers)'
    ELSE '(w/o servers)'
END;

SELECT 'Proto Recv-Q Send-Q Local Address           Foreign Address         State      '
    || iif(:extend, ' User       Inode     ', '')
    || iif(:programs, ' PID/Program name    ', '')
    || iif(:timers, ' Timer', '');

-- probes comes from /proc/net/tcp, which is read only when a statement
-- names the column: only the -o arm names it, and the arm whose WHERE is
-- false never reads the table, so -tanp does not read the file at all.
WITH k AS (
    SELECT rowid AS n, proto, protocol, family, recv_q, send_q,
        local_address, local_port, remote_address, remote_port,
        state, kernel_state, uid, inode, timer, timer_expires, retransmits,
        NULL AS probes
    FROM sockets WHERE NOT :timers
    UNION ALL
    SELECT rowid, proto, protocol, family, recv_q, send_q,
        local_address, local_port, remote_address, remote_port,
        state, kernel_state, uid, inode, timer, timer_expires, retransmits,
        probes
    FROM sockets WHERE :timers
), s AS (
    SELECT *,
        -- netstat's "server": a TCP socket without a remote port, any
        -- other socket without a remote address
        CASE protocol
            WHEN 'tcp' THEN remote_port = 0
            ELSE remote_address IN ('0.0.0.0', '::')
        END AS server
    FROM k
    WHERE protocol IN (iif(:tcp, 'tcp', NULL), iif(:udp, 'udp', NULL),
                       iif(:udplite, 'udplite', NULL), iif(:raw, 'raw', NULL))
      AND family IN (iif(:inet, 'inet', NULL), iif(:inet6, 'inet6', NULL))
)
SELECT printf('%-5s %6d %6d %-23s %-23s %-11s', proto, recv_q, send_q,
        -- netstat names UDP-Lite ports from the udp services
        netstat_addr(local_address, local_port, iif(protocol = 'udplite', 'udp', protocol), :numeric, :wide),
        netstat_addr(remote_address, remote_port, iif(protocol = 'udplite', 'udp', protocol), :numeric, :wide),
        CASE protocol
            WHEN 'tcp' THEN state
            WHEN 'raw' THEN kernel_state  -- netstat prints raw states as numbers
            ELSE CASE kernel_state WHEN 1 THEN 'ESTABLISHED' WHEN 7 THEN '' ELSE 'UNKNOWN' END
        END)
    || iif(:extend, printf(' %-10s %-10d',
            iif(:numeric = 1 OR instr(:numeric, 'users'), uid, user_name(uid)), inode), '')
    || iif(:programs, printf(' %-20s', ifnull(
            (SELECT netstat_program(o.pid) FROM socket_owners o WHERE o.inode = s.inode AND s.inode != 0 LIMIT 1),
            '-')), '')
    || iif(:timers, ' ' || netstat_timer(protocol, timer, timer_expires, retransmits, probes), '')
FROM s
WHERE :all OR server = (:listening != 0)
ORDER BY CASE protocol WHEN 'tcp' THEN 1 WHEN 'udp' THEN 2 WHEN 'udplite' THEN 3 ELSE 4 END, family, n;
