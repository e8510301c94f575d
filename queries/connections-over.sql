-- name: connections-over
-- description: processes holding more than :limit TCP connections (any connected state)
-- param: limit=1000 report processes holding more connections than this

SELECT program, pid, count(*) AS connections,
    sum(state = 'ESTABLISHED') AS established,
    sum(state = 'CLOSE_WAIT') AS close_wait
FROM sockets
WHERE protocol = 'tcp' AND state NOT IN ('LISTEN', 'CLOSE', 'TIME_WAIT')
GROUP BY pid, program
HAVING count(*) > :limit
ORDER BY connections DESC, program, pid;
