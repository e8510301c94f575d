-- name: top-host-sockets
-- description: netsql top drill-down: the TCP sockets to one remote host, with rtt, cwnd and retransmits (reads top's snapshot)
-- panel: Sockets to the host
-- show: drill
-- keys: _cookie
-- param: host=''  the remote address

SELECT proto, local_address, local_port, remote_port, state, program,
    recv_q, send_q, rtt_ms, cwnd, total_retrans AS retrans,
    bytes_received_per_s AS in_bps, bytes_sent_per_s AS out_bps, pid,
    cookie AS _cookie
FROM snap.sockets
WHERE protocol = 'tcp' AND state != 'LISTEN' AND remote_address = :host
ORDER BY state, local_port, remote_port;
