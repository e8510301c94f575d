-- name: metric-tcp
-- description: Prometheus: TCP protocol counters (segments, retransmits, resets, listen overflows and drops)
-- metric: netsql_tcp_segments_received_total
-- type: counter
-- help: TCP segments received (Tcp InSegs).
-- value: in_segs
-- metric: netsql_tcp_segments_sent_total
-- type: counter
-- help: TCP segments sent (Tcp OutSegs).
-- value: out_segs
-- metric: netsql_tcp_retransmitted_segments_total
-- type: counter
-- help: TCP segments retransmitted (Tcp RetransSegs).
-- value: retrans_segs
-- metric: netsql_tcp_resets_sent_total
-- type: counter
-- help: TCP segments sent with RST (Tcp OutRsts).
-- value: out_rsts
-- metric: netsql_tcp_established_resets_total
-- type: counter
-- help: TCP connections reset from ESTABLISHED or CLOSE_WAIT (Tcp EstabResets).
-- value: estab_resets
-- metric: netsql_tcp_attempt_fails_total
-- type: counter
-- help: TCP connection attempts that failed (Tcp AttemptFails).
-- value: attempt_fails
-- metric: netsql_tcp_listen_overflows_total
-- type: counter
-- help: Times a listening socket's accept queue was full (TcpExt ListenOverflows).
-- value: listen_overflows
-- metric: netsql_tcp_listen_drops_total
-- type: counter
-- help: SYNs to listening sockets dropped, overflows included (TcpExt ListenDrops).
-- value: listen_drops
-- metric: netsql_tcp_timeouts_total
-- type: counter
-- help: TCP retransmission timeouts (TcpExt TCPTimeouts).
-- value: timeouts
-- metric: netsql_tcp_established
-- type: gauge
-- help: TCP connections currently ESTABLISHED or CLOSE_WAIT (Tcp CurrEstab).
-- value: curr_estab

SELECT
    max(iif(protocol = 'Tcp' AND name = 'InSegs', value, NULL)) AS in_segs,
    max(iif(protocol = 'Tcp' AND name = 'OutSegs', value, NULL)) AS out_segs,
    max(iif(protocol = 'Tcp' AND name = 'RetransSegs', value, NULL)) AS retrans_segs,
    max(iif(protocol = 'Tcp' AND name = 'OutRsts', value, NULL)) AS out_rsts,
    max(iif(protocol = 'Tcp' AND name = 'EstabResets', value, NULL)) AS estab_resets,
    max(iif(protocol = 'Tcp' AND name = 'AttemptFails', value, NULL)) AS attempt_fails,
    max(iif(protocol = 'TcpExt' AND name = 'ListenOverflows', value, NULL)) AS listen_overflows,
    max(iif(protocol = 'TcpExt' AND name = 'ListenDrops', value, NULL)) AS listen_drops,
    max(iif(protocol = 'TcpExt' AND name = 'TCPTimeouts', value, NULL)) AS timeouts,
    max(iif(protocol = 'Tcp' AND name = 'CurrEstab', value, NULL)) AS curr_estab
FROM protocol_stats
WHERE protocol IN ('Tcp', 'TcpExt');
