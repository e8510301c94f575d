-- name: metric-sockets
-- description: Prometheus: sockets by protocol and state
-- metric: netsql_sockets
-- type: gauge
-- help: Sockets by protocol (tcp, tcp6, udp, udp6, raw, raw6, unix) and state, as netsql's sockets table counts them.
-- labels: proto, state
-- value: sockets

SELECT proto, state, count(*) AS sockets
FROM sockets
GROUP BY proto, state
ORDER BY proto, state;
