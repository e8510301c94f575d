-- name: sockets-by-local-port
-- description: TCP and UDP sockets per local port and protocol, with how many listen and how many are connected
-- param: limit=20 how many ports to show

SELECT protocol, local_port, count(*) AS sockets,
    sum(state IN ('LISTEN', 'UNCONN')) AS listening,
    sum(state = 'ESTABLISHED') AS established,
    sum(state NOT IN ('LISTEN', 'UNCONN', 'ESTABLISHED')) AS other
FROM sockets
WHERE protocol IN ('tcp', 'udp')
GROUP BY protocol, local_port
ORDER BY sockets DESC, protocol, local_port
LIMIT :limit;
