-- name: close-wait-by-unit
-- description: CLOSE_WAIT sockets (the peer closed, the program did not) per systemd unit and container, most first

SELECT unit, container_id, count(DISTINCT pid) AS processes, count(*) AS close_wait
FROM sockets
WHERE state = 'CLOSE_WAIT'
GROUP BY unit, container_id
ORDER BY close_wait DESC, unit, container_id;
