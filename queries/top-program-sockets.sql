-- name: top-program-sockets
-- description: netsql top drill-down: the sockets of one program, with rtt, cwnd and retransmits (reads top's snapshot)
-- panel: Sockets of the program
-- show: drill
-- keys: _cookie
-- param: program=''  the program; (unknown) for sockets whose owner is unknown

SELECT proto, local_address, local_port, remote_address, remote_port, state,
    recv_q, send_q, rtt_ms, cwnd, total_retrans AS retrans,
    bytes_received_per_s AS in_bps, bytes_sent_per_s AS out_bps, pid, fd,
    cookie AS _cookie
FROM snap.sockets
WHERE family IN ('inet', 'inet6') AND ifnull(program, '(unknown)') = CAST(:program AS TEXT)
ORDER BY state, local_port, remote_address, remote_port;
