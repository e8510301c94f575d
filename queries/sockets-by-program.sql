-- name: sockets-by-program
-- description: TCP, UDP and raw sockets per program and state, most first (program NULL: owner unknown)
-- param: unix=0 1 to count unix domain sockets too

SELECT program, state, count(*) AS sockets
FROM sockets
WHERE family IN ('inet', 'inet6') OR (:unix AND family = 'unix')
GROUP BY program, state
ORDER BY sockets DESC, program, state;
