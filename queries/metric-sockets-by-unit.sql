-- name: metric-sockets-by-unit
-- description: Prometheus: TCP, UDP and raw sockets by systemd unit and state
-- metric: netsql_unit_sockets
-- type: gauge
-- help: TCP, UDP and raw sockets by the owning process's systemd unit and state; unit is empty when the owner could not be read or is in no unit.
-- labels: unit, state
-- value: sockets

SELECT ifnull(unit, '') AS unit, state, count(*) AS sockets
FROM sockets
WHERE family IN ('inet', 'inet6')
GROUP BY 1, 2
ORDER BY 1, 2;
