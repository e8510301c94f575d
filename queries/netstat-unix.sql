-- name: netstat-unix
-- description: UNIX domain sockets exactly as netstat -x prints them
-- netstat: netstat -x [-a|-l] [-p]
-- format: raw
-- param: all=0 show listening and connected sockets (-a)
-- param: listening=0 show only listening sockets (-l)
-- param: programs=0 add the PID/Program name column (-p)
--
-- netstat reads /proc/net/unix, which unix_socket_lines holds line by line
-- in the kernel's order, with the connections not yet accepted (inode 0,
-- CONNECTING) that sock_diag, and so the sockets table, leaves out.

SELECT 'Active UNIX domain sockets ' || CASE
    WHEN :all THEN '(servers and established)'
    WHEN :listening THEN '(only servers)'
    ELSE '(w/o servers)'
END;

SELECT 'Proto RefCnt Flags       Type       State         I-Node  '
    || iif(:programs, ' PID/Program name    ', '')
    || ' Path';

SELECT printf('%-5s %-6d %-11s %-10s %-13s %-8d', 'unix', refcnt,
        '[ ' || iif(flags = '', '', flags || ' ') || ']',
        type,
        CASE state WHEN 'UNCONN' THEN '' ELSE state END,
        inode)
    || iif(:programs, printf(' %-20s', ifnull(
            (SELECT netstat_program(o.pid) FROM socket_owners o WHERE o.inode = s.inode AND s.inode != 0 LIMIT 1),
            '-')), '')
    -- netstat reads the path with scanf's %s: up to the first space
    || ' ' || CASE WHEN instr(path, ' ') > 0 THEN substr(path, 1, instr(path, ' ') - 1) ELSE ifnull(path, '') END
FROM unix_socket_lines s
WHERE (:all OR (state = 'LISTENING') = (:listening != 0))
ORDER BY rowid;
