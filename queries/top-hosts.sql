-- name: top-hosts
-- description: netsql top: per remote host, TCP connections and bytes per second in and out (reads top's snapshot)
-- panel: Remote hosts
-- keys: host
-- drill: top-host-sockets
-- rank: 20

SELECT remote_address AS host,
    count(*) AS conns,
    count(*) FILTER (WHERE state = 'CLOSE_WAIT') AS close_wait,
    sum(recv_q) AS recv_q,
    sum(send_q) AS send_q,
    sum(total_retrans_per_s) AS retrans_s,
    sum(bytes_received_per_s) AS in_bps,
    sum(bytes_sent_per_s) AS out_bps
FROM snap.sockets
WHERE protocol = 'tcp' AND state != 'LISTEN'
GROUP BY remote_address
ORDER BY ifnull(sum(bytes_received_per_s), 0) + ifnull(sum(bytes_sent_per_s), 0) DESC, conns DESC, host;
