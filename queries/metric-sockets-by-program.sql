-- name: metric-sockets-by-program
-- description: Prometheus: TCP, UDP and raw sockets by program and state
-- metric: netsql_program_sockets
-- type: gauge
-- help: TCP, UDP and raw sockets by owning program and state; program is empty when the owner could not be read.
-- labels: program, state
-- value: sockets

SELECT ifnull(program, '') AS program, state, count(*) AS sockets
FROM sockets
WHERE family IN ('inet', 'inet6')
GROUP BY 1, 2
ORDER BY 1, 2;
