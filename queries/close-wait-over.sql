-- name: close-wait-over
-- description: processes holding more than :limit CLOSE_WAIT sockets (for --fail-on-rows alerts)
-- param: limit=100 report processes holding more CLOSE_WAIT sockets than this

SELECT program, pid, count(*) AS close_wait
FROM sockets
WHERE state = 'CLOSE_WAIT'
GROUP BY pid, program
HAVING count(*) > :limit
ORDER BY close_wait DESC, program, pid;
