-- name: top-listeners
-- description: netsql top: listening TCP sockets with their accept-queue fill (recv_q / backlog), fullest first (reads top's snapshot)
-- panel: Listeners
-- keys: proto, address, port, _pid
-- rank: 30

SELECT proto, local_address AS address, local_port AS port,
    ifnull(program, '') AS program, pid AS _pid,
    recv_q AS queued, backlog,
    round(100.0 * recv_q / nullif(backlog, 0), 1) AS fill_pct
FROM snap.sockets
WHERE protocol = 'tcp' AND state = 'LISTEN'
ORDER BY fill_pct DESC NULLS LAST, queued DESC, port, proto, address;
