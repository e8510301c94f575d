-- name: top-sockets
-- description: netsql top header: TCP sockets per state (reads top's snapshot, snap.sockets)
-- panel: TCP sockets
-- show: header
-- rank: 1

-- Counted per state first, so that the header compares ten states with a
-- dozen groups, not with every socket.
SELECT
    coalesce(sum(n) FILTER (WHERE state = 'ESTABLISHED'), 0) AS established,
    coalesce(sum(n) FILTER (WHERE state = 'SYN_SENT'), 0) AS syn_sent,
    coalesce(sum(n) FILTER (WHERE state = 'SYN_RECV'), 0) AS syn_recv,
    coalesce(sum(n) FILTER (WHERE state = 'FIN_WAIT1'), 0) AS fin_wait1,
    coalesce(sum(n) FILTER (WHERE state = 'FIN_WAIT2'), 0) AS fin_wait2,
    coalesce(sum(n) FILTER (WHERE state = 'TIME_WAIT'), 0) AS time_wait,
    coalesce(sum(n) FILTER (WHERE state = 'CLOSE_WAIT'), 0) AS close_wait,
    coalesce(sum(n) FILTER (WHERE state = 'LAST_ACK'), 0) AS last_ack,
    coalesce(sum(n) FILTER (WHERE state = 'CLOSING'), 0) AS closing,
    coalesce(sum(n) FILTER (WHERE state = 'LISTEN'), 0) AS listen
FROM (SELECT state, count(*) AS n FROM snap.sockets WHERE protocol = 'tcp' GROUP BY state);
