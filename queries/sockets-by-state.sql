-- name: sockets-by-state
-- description: how many sockets each protocol has in each state, most first
-- param: proto='' only this proto (tcp, tcp6, udp, udp6, raw, raw6, unix); '' for all

SELECT proto, state, count(*) AS sockets
FROM sockets
WHERE :proto = '' OR proto = :proto
GROUP BY proto, state
ORDER BY sockets DESC, proto, state;
