-- name: close-wait-by-program
-- description: CLOSE_WAIT sockets (the peer closed, the program did not) per process, most first

SELECT program, pid, count(*) AS close_wait
FROM sockets
WHERE state = 'CLOSE_WAIT'
GROUP BY pid, program
ORDER BY close_wait DESC, program, pid;
