-- name: top-sockets
-- description: netsql top header: TCP sockets per state (reads top's snapshot, snap.sockets)
-- panel: TCP sockets
-- show: header
-- rank: 1

SELECT
    count(*) FILTER (WHERE state = 'ESTABLISHED') AS established,
    count(*) FILTER (WHERE state = 'SYN_SENT') AS syn_sent,
    count(*) FILTER (WHERE state = 'SYN_RECV') AS syn_recv,
    count(*) FILTER (WHERE state = 'FIN_WAIT1') AS fin_wait1,
    count(*) FILTER (WHERE state = 'FIN_WAIT2') AS fin_wait2,
    count(*) FILTER (WHERE state = 'TIME_WAIT') AS time_wait,
    count(*) FILTER (WHERE state = 'CLOSE_WAIT') AS close_wait,
    count(*) FILTER (WHERE state = 'LAST_ACK') AS last_ack,
    count(*) FILTER (WHERE state = 'CLOSING') AS closing,
    count(*) FILTER (WHERE state = 'LISTEN') AS listen
FROM snap.sockets
WHERE protocol = 'tcp';
