-- name: metric-listening
-- description: Prometheus: listening TCP and bound UDP sockets with their programs, accept queues and backlogs
-- metric: netsql_listening_sockets
-- type: gauge
-- help: Listening TCP and bound UDP sockets by address, port and program (more than 1 with SO_REUSEPORT or several families).
-- labels: proto, address, port, program
-- value: sockets
-- metric: netsql_listen_queue_length
-- type: gauge
-- help: Connections waiting in the TCP accept queue (Recv-Q of a LISTEN socket), summed over the sockets of the label set.
-- labels: proto, address, port, program
-- value: queued
-- metric: netsql_listen_backlog
-- type: gauge
-- help: The TCP accept queue's size (the listen backlog, Send-Q of a LISTEN socket), summed over the sockets of the label set.
-- labels: proto, address, port, program
-- value: backlog

SELECT proto, local_address AS address, CAST(local_port AS TEXT) AS port,
    ifnull(program, '') AS program, count(*) AS sockets,
    iif(protocol = 'tcp', sum(recv_q), NULL) AS queued,
    iif(protocol = 'tcp', sum(send_q), NULL) AS backlog
FROM sockets
WHERE (protocol = 'tcp' AND state = 'LISTEN')
   OR (protocol = 'udp' AND state = 'UNCONN' AND local_port != 0)
GROUP BY proto, local_address, local_port, 4
ORDER BY local_port, proto, local_address, 4;
