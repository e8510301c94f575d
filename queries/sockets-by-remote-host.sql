-- name: sockets-by-remote-host
-- description: connected TCP and UDP sockets per remote address, most first
-- param: limit=20 how many remote hosts to show

SELECT remote_address, count(*) AS sockets,
    sum(state = 'ESTABLISHED') AS established,
    sum(state = 'TIME_WAIT') AS time_wait,
    sum(state = 'CLOSE_WAIT') AS close_wait
FROM sockets
WHERE family IN ('inet', 'inet6') AND state NOT IN ('LISTEN', 'UNCONN', 'CLOSE')
GROUP BY remote_address
ORDER BY sockets DESC, remote_address
LIMIT :limit;
