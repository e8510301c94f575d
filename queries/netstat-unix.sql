-- name: netstat-unix
-- description: UNIX domain sockets exactly as netstat -x prints them
-- netstat: netstat -x [-a|-l] [-p]
-- format: raw
-- param: all=0 show listening and connected sockets (-a)
-- param: listening=0 show only listening sockets (-l)
-- param: programs=0 add the PID/Program name column (-p)
--
-- refcnt and flags exist only in /proc/net/unix; the sockets table joins
-- them in by inode to the sockets sock_diag lists, which walks the same
-- hash table as /proc/net/unix, in the same order. A connection queued on
-- a listener and not yet accepted has no inode and sock_diag does not list
-- it; netstat prints it as a CONNECTING line (a known gap on a live host).

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
            (SELECT netstat_program(o.pid) FROM socket_owners o WHERE o.inode = s.inode LIMIT 1),
            '-')), '')
    -- netstat reads the path with scanf's %s: up to the first space
    || ' ' || CASE WHEN instr(path, ' ') > 0 THEN substr(path, 1, instr(path, ' ') - 1) ELSE ifnull(path, '') END
FROM sockets s
WHERE family = 'unix'
  AND (:all OR (state = 'LISTENING') = (:listening != 0))
ORDER BY rowid;
